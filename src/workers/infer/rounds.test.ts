import { listDurableObjectIds } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { newInferenceId } from "@verity/protocol";
import { keccak256, stringToHex, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterEach, describe, expect, it } from "vitest";
import { verdictBy } from "../../../test/fixtures/decided-round";
import { createTestKey, gatewayFetch, readSse } from "../../../test/gateway";
import { startVerifierNetwork, storeChatInference } from "../../../test/verifier-network";
import { roundConfig } from "../../durable/round-config";
import { sweepPendingRounds, sweepUnqueuedOutcomes } from "./rounds";

const ZERO = `0x${"00".repeat(32)}` as const;

let network: Awaited<ReturnType<typeof startVerifierNetwork>> | undefined;
afterEach(() => {
  network?.restore();
  network = undefined;
});

describe("verification through the gateway", () => {
  it("streams a round from pending to verified, and shows it on the record", async () => {
    const { id, key } = await storeChatInference();
    network = await startVerifierNetwork(["", "", ""]);
    const events = gatewayFetch(`/v1/inferences/${id}/events`, { key });
    await env.VERIFICATION_ROUND.getByName(id).start(id);
    const res = await events;
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const rounds = (await readSse(res)).map((e) => JSON.parse(e) as { status: string });
    expect(rounds.at(-1)?.status).toBe("verified");

    const record = (await (await gatewayFetch(`/v1/inferences/${id}`, { key })).json()) as {
      status: string;
      verification: {
        status: string;
        committee: unknown[];
        verdicts: { verifier: string; outcome: string }[];
      };
    };
    expect(record.status).toBe("verified");
    expect(record.verification.committee).toHaveLength(3);
    expect(
      record.verification.verdicts.filter((v) => v.outcome === "valid").length,
    ).toBeGreaterThanOrEqual(2);
    const members = network.verifiers.map((v) => v.address);
    expect(
      record.verification.verdicts.every((v) => members.includes(v.verifier as `0x${string}`)),
    ).toBe(true);
  });

  it("answers another key's events with 404", async () => {
    const { id } = await storeChatInference();
    const { key: other } = await storeChatInference();
    expect((await gatewayFetch(`/v1/inferences/${id}/events`, { key: other })).status).toBe(404);
  });

  it("resends the outcome of a decided record that never reached the settler, and only that", async () => {
    network = await startVerifierNetwork(["", "", ""]);
    const lost = await storeChatInference();
    const arrived = await storeChatInference();
    for (const { id } of [lost, arrived]) {
      await env.VERIFICATION_ROUND.getByName(id).start(id);
      for (let i = 0; i < 100; i++) {
        const round = await env.VERIFICATION_ROUND.getByName(id).snapshotIfStarted();
        if (round?.status === "verified") break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    // The settler stored one of them; the other's queue message was lost in a crash.
    await env.DB.prepare(
      "insert into settlement_records (inference_id, outcome, round_outcome, leaf, leaf_hash, decided_at, received_at) values (?, 'verified', '{}', '[]', '0x', 0, 0)",
    )
      .bind(arrived.id)
      .run();
    const { outcomeResendAfterMs } = roundConfig(env);
    const later = Date.now() + outcomeResendAfterMs + 1;
    // Too recent to tell from a message still on its way.
    expect(await sweepUnqueuedOutcomes(env, Date.now())).not.toContain(lost.id);
    const resent = await sweepUnqueuedOutcomes(env, later);
    expect(resent).toContain(lost.id);
    expect(resent).not.toContain(arrived.id);
    // A record still pending is the other sweep's business, not this one's.
    const pending = await storeChatInference();
    expect(await sweepUnqueuedOutcomes(env, later)).not.toContain(pending.id);
  });

  it("sweeps records whose round never started", async () => {
    const { id } = await storeChatInference();
    network = await startVerifierNetwork(["", "", ""]);
    expect(await env.VERIFICATION_ROUND.getByName(id).snapshotIfStarted()).toBeNull();
    const started = await sweepPendingRounds(env, Date.now() + 60_000);
    expect(started).toBeGreaterThanOrEqual(1);
    const round = await env.VERIFICATION_ROUND.getByName(id).snapshotIfStarted();
    expect(round?.status).not.toBeUndefined();
  });

  it("refuses a late verdict for an unknown round with 404 and a malformed one with 400", async () => {
    const unknown = await gatewayFetch("/v1/inferences/not-an-id/verdicts", {
      method: "POST",
      json: {},
    });
    expect(unknown.status).toBe(404);
    const { id } = await storeChatInference();
    network = await startVerifierNetwork(["silent", "silent", "silent"]);
    void env.VERIFICATION_ROUND.getByName(id)
      .start(id)
      .catch(() => {});
    for (
      let i = 0;
      i < 50 && !(await env.VERIFICATION_ROUND.getByName(id).snapshotIfStarted());
      i++
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const res = await gatewayFetch(`/v1/inferences/${id}/verdicts`, {
      method: "POST",
      json: { nope: 1 },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("malformed");
  });
});

describe("the public verdict route costs nothing durable before a verdict checks out", () => {
  const roundCount = async () => (await listDurableObjectIds(env.VERIFICATION_ROUND)).length;
  const post = (id: string, body: string) =>
    exports.default.fetch(
      new Request(`http://gateway.test/v1/inferences/${id}/verdicts`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      }),
    );

  it("anonymous, unsigned and unregistered verdicts for random inferences wake no round", async () => {
    const before = await roundCount();
    const stranger = privateKeyToAccount(keccak256(stringToHex("not a registered verifier")));
    for (let i = 0; i < 20; i++) {
      const id = newInferenceId();
      const signed = await verdictBy(stranger, { inferenceId: id, receiptDigest: ZERO }, "valid");
      const answers = [
        await post(id, "{}"),
        await post(id, JSON.stringify({ ...signed, signature: `0x${"11".repeat(65)}` })),
        await post(id, JSON.stringify(signed)),
      ];
      expect(answers.map((r) => r.status)).toEqual([400, 401, 403]);
    }
    expect(await roundCount()).toBe(before);
  });

  it("names the exact reason: edited checks 400 checks_digest_mismatch, another key 401 signer_mismatch, no key 401 bad_signature", async () => {
    const before = await roundCount();
    const stranger = privateKeyToAccount(keccak256(stringToHex("not a registered verifier")));
    const other = privateKeyToAccount(keccak256(stringToHex("someone else")));
    const id = newInferenceId();
    const signed = await verdictBy(stranger, { inferenceId: id, receiptDigest: ZERO }, "valid");
    const cases = [
      [
        { ...signed, checks: signed.checks.map((c) => ({ ...c, reason: "edited" })) },
        400,
        "checks_digest_mismatch",
      ],
      [{ ...signed, verifier: other.address }, 401, "signer_mismatch"],
      [{ ...signed, signature: `${signed.signature.slice(0, 130)}00` }, 401, "bad_signature"],
    ] as const;
    for (const [body, status, code] of cases) {
      const res = await post(id, JSON.stringify(body));
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    expect(await roundCount()).toBe(before);
  });

  it("a registered verifier's verdict about an inference that does not exist is 404, with no round", async () => {
    network = await startVerifierNetwork([""]);
    const before = await roundCount();
    const id = newInferenceId();
    // The key startVerifierNetwork registers for its first verifier.
    const registered = privateKeyToAccount(keccak256(toHex("verity test verifier 0")));
    const verdict = await verdictBy(registered, { inferenceId: id, receiptDigest: ZERO }, "valid");
    expect((await post(id, JSON.stringify(verdict))).status).toBe(404);
    // Nor can a verdict about one inference be handed in under another's id.
    expect((await post(newInferenceId(), JSON.stringify(verdict))).status).toBe(409);
    expect(await roundCount()).toBe(before);
  });

  it("deeply nested JSON is a 400, not a 500, here and on every other POST route", async () => {
    const deep = `${'{"a":'.repeat(2_500)}1${"}".repeat(2_500)}`;
    const res = await post(newInferenceId(), deep);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("malformed");
    const { key } = await createTestKey();
    for (const route of ["/v1/chat/completions", "/v1/embeddings", "/v1/verifiers/heartbeat"]) {
      const answer = await exports.default.fetch(
        new Request(`http://gateway.test${route}`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
          body: deep,
        }),
      );
      expect([route, answer.status]).toEqual([route, 400]);
    }
  });
});
