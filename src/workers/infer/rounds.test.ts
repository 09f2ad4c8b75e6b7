import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { gatewayFetch, readSse } from "../../../test/gateway";
import { startVerifierNetwork, storeChatInference } from "../../../test/verifier-network";
import { sweepPendingRounds } from "./rounds";

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
