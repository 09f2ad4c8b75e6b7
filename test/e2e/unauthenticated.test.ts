// The unauthenticated surface of a running network, attacked from outside: floods, deep JSON
// and replays against the real `npm start` (issue "Settlement and verification that hold under
// attack"). Floods claim addresses from the documentation ranges in `cf-connecting-ip`, so the
// verifiers' own heartbeats from 127.0.0.1 are not caught in the limits they trip.

import { signHeartbeat } from "@verity/protocol/heartbeat";
import { newInferenceId } from "@verity/protocol/inference-id";
import { signTaskEnvelope, TASK_ENVELOPE_HEADER } from "@verity/protocol/task-envelope";
import OpenAI from "openai";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, inject, it } from "vitest";
import { loadOrCreateDevSecrets } from "../../scripts/lib/dev-secrets.ts";

const network = inject("localNetwork");
const client = new OpenAI({ baseURL: `${network.gatewayUrl}/v1`, apiKey: network.apiKey });

const post = (url: string, body: string, ip: string, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "cf-connecting-ip": ip, ...headers },
    body,
  });

describe("the unauthenticated surface of a running network", () => {
  it("costs nothing durable: forged verdicts and heartbeats for random inferences write no row", async () => {
    // Other files' calls run on this network meanwhile, so look for rows these requests could
    // have made, not at totals.
    const stranger = privateKeyToAccount(`0x${"7".repeat(64)}`);
    const ids = Array.from({ length: 100 }, () => newInferenceId());
    const statuses = new Set<number>();
    for (const id of ids) {
      const verdict = await post(
        `${network.gatewayUrl}/v1/inferences/${id}/verdicts`,
        JSON.stringify({ version: 1, inferenceId: id, signature: `0x${"11".repeat(65)}` }),
        "192.0.2.10",
      );
      statuses.add(verdict.status);
      await verdict.body?.cancel();
      const heartbeat = await post(
        `${network.gatewayUrl}/v1/verifiers/heartbeat`,
        JSON.stringify(
          await signHeartbeat(
            {
              verifier: stranger.address,
              url: "http://127.0.0.1:1",
              timestamp: Date.now(),
              policyHash: `0x${"0".repeat(64)}`,
              version: "attacker",
              models: [],
            },
            stranger,
          ),
        ),
        "192.0.2.10",
      );
      statuses.add(heartbeat.status);
      await heartbeat.body?.cancel();
    }
    expect([...statuses].every((s) => s >= 400 && s < 500)).toBe(true);
    // Through the API, not the database file: a second reader of the live SQLite file can meet
    // the gateway's lock. No record exists for any of the ids (and so no verdict, which must
    // name one), and the stranger is not among the verifiers.
    for (const id of ids.slice(0, 20)) {
      const res = await fetch(`${network.gatewayUrl}/v1/inferences/${id}`, {
        headers: { authorization: `Bearer ${network.apiKey}` },
      });
      expect(res.status).toBe(404);
      await res.body?.cancel();
    }
    const listed = (await client.get("/verifiers")) as { data: { address: string }[] };
    expect(listed.data.map((v) => v.address)).not.toContain(stranger.address);
  });

  it("cuts a flooding IP off with 429 and retry-after, while everyone else is served", {
    timeout: 120_000,
  }, async () => {
    // The limits count per wall-clock minute. 1,300 requests in well under a minute span at most
    // two windows, so one of them takes 650 or more: at least 50 are over the limit of 600.
    const flood = async (count: number, send: (i: number) => Promise<Response>) => {
      const statuses: number[] = [];
      for (let i = 0; i < count; i += 20) {
        const wave = await Promise.all(
          Array.from({ length: Math.min(20, count - i) }, async (_, j) => {
            const res = await send(i + j);
            if (res.status === 429) {
              expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
            }
            await res.body?.cancel();
            return res.status;
          }),
        );
        statuses.push(...wave);
      }
      return statuses;
    };
    const url = `${network.gatewayUrl}/v1/inferences/${newInferenceId()}/verdicts`;
    const anonymous = await flood(1_300, () => post(url, "{}", "198.51.100.66"));
    expect(anonymous.filter((s) => s === 429).length).toBeGreaterThanOrEqual(50);
    expect(anonymous.every((s) => s === 400 || s === 429)).toBe(true);
    // Made-up keys of the right form: a D1 read each, until the IP is cut off.
    const keyed = await flood(1_300, (i) =>
      fetch(`${network.gatewayUrl}/v1/models`, {
        headers: {
          authorization: `Bearer vty_${i.toString(36).padStart(32, "Q")}`,
          "cf-connecting-ip": "198.51.100.67",
        },
      }),
    );
    expect(keyed.filter((s) => s === 429).length).toBeGreaterThanOrEqual(50);
    expect(keyed.every((s) => s === 401 || s === 429)).toBe(true);
    // The client's own calls, from elsewhere, are untouched.
    const chat = await client.chat.completions.create({
      model: "verity-ngram-1",
      messages: [{ role: "user", content: "still there?" }],
      max_tokens: 4,
    });
    expect(chat.choices[0]?.message.content).toBeTypeOf("string");
  });

  it("answers deeply nested JSON with a 400 on every route of the gateway and of every verifier", async () => {
    const deep = `${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}`;
    const secrets = await loadOrCreateDevSecrets(network.stateDir);
    const coordinator = privateKeyToAccount(secrets.secrets.coordinatorKey);
    const gatewayRoutes = [
      "/v1/chat/completions",
      "/v1/embeddings",
      "/v1/verifiers/heartbeat",
      `/v1/inferences/${newInferenceId()}/verdicts`,
    ];
    for (const route of gatewayRoutes) {
      const res = await post(`${network.gatewayUrl}${route}`, deep, "192.0.2.20", {
        authorization: `Bearer ${network.apiKey}`,
      });
      expect(res.status, route).toBe(400);
      await res.body?.cancel();
    }
    // A "signed" task whose task is the deep value, with the coordinator's envelope, so that the
    // verifier reads and parses it at all.
    const deepTask = `{"signature":"0x","task":${deep}}`;
    for (const verifier of network.verifiers) {
      const envelope = await signTaskEnvelope(deepTask, verifier.address, Date.now(), coordinator);
      const task = await post(`${verifier.url}/v1/tasks`, deepTask, "192.0.2.20", {
        [TASK_ENVELOPE_HEADER]: envelope,
      });
      expect(task.status, `${verifier.url}: ${await task.clone().text()}`).toBe(400);
      await task.body?.cancel();
    }
  });

  it("changes nothing with a replayed heartbeat or verdict", async () => {
    const secrets = (await loadOrCreateDevSecrets(network.stateDir)).secrets;
    const verifierKey = secrets.verifierKeys[0];
    const first = network.verifiers[0];
    if (!verifierKey || !first) throw new Error("no verifier in local.json");
    const account = privateKeyToAccount(verifierKey);

    // A heartbeat older than the verifier's last one cannot roll its URL back.
    const old = await signHeartbeat(
      {
        verifier: account.address,
        url: "http://127.0.0.1:9",
        timestamp: Date.now() - 30_000,
        policyHash: `0x${"0".repeat(64)}`,
        version: "replayed",
        models: [],
      },
      account,
    );
    const replayed = await post(
      `${network.gatewayUrl}/v1/verifiers/heartbeat`,
      JSON.stringify(old),
      "192.0.2.30",
    );
    expect(replayed.status).toBe(409);
    const listed = (await client.get("/verifiers")) as { data: { address: string; url: string }[] };
    expect(listed.data.find((v) => v.address === account.address)?.url).toBe(first.url);

    // A call's round, decided; its counted verdicts handed in again are refused as duplicates.
    const chat = await client.chat.completions
      .create({
        model: "verity-ngram-1",
        messages: [{ role: "user", content: "replay me" }],
        max_tokens: 8,
      })
      .withResponse();
    const id = chat.response.headers.get("x-verity-inference-id") ?? "";
    let record: { verification: { status: string; verdicts: { verdict: unknown }[] } };
    for (let i = 0; ; i++) {
      record = await client.get(`/inferences/${id}`);
      if (record.verification.status !== "pending" && record.verification.status !== "running")
        break;
      if (i > 100) throw new Error(`${id} was not decided`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const [counted] = record.verification.verdicts;
    const again = await post(
      `${network.gatewayUrl}/v1/inferences/${id}/verdicts`,
      JSON.stringify(counted?.verdict),
      "192.0.2.30",
    );
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: "duplicate" } });
  });
});
