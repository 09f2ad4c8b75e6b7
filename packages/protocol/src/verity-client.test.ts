import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createTestKey, gatewayFetch } from "../../../test/gateway";
import { verifyRecord } from "./verify-record";
import { INFERENCE_ID_HEADER, verityClient, verityOf, withVerity } from "./verity-client";

/** The gateway worker itself, as the client's fetch. */
const gateway: typeof fetch = (input, init) =>
  exports.default.fetch(new Request(input as RequestInfo, init));

async function call(key: string) {
  const res = await gatewayFetch("/v1/chat/completions", {
    method: "POST",
    key,
    json: { model: "verity-ngram-1", messages: [{ role: "user", content: "hi" }], max_tokens: 5 },
  });
  return { res, body: await res.json() };
}

describe("verityOf", () => {
  it("reads an answer's inference id and receipt from its body, and the id from its response", async () => {
    const { key } = await createTestKey();
    const { res, body } = await call(key);
    const fromBody = verityOf(body);
    expect(fromBody?.inferenceId).toBe(res.headers.get(INFERENCE_ID_HEADER));
    expect(fromBody?.receipt?.inferenceId).toBe(fromBody?.inferenceId);
    expect(verityOf(res)).toEqual({ inferenceId: fromBody?.inferenceId });
    expect(verityOf({ choices: [] })).toBeUndefined();
    expect(verityOf(null)).toBeUndefined();
  });
});

describe("verityClient", () => {
  it("fetches the record of a call, which verifyRecord checks up to the round still running", async () => {
    const { key } = await createTestKey();
    const { body } = await call(key);
    const id = verityOf(body)?.inferenceId ?? "";
    const client = verityClient({
      baseURL: "http://gateway.test/v1/",
      apiKey: key,
      fetch: gateway,
    });
    const fetched = await client.record(id);
    if (!fetched.ok) throw new Error(fetched.message);
    expect(fetched.record).toMatchObject({ inferenceId: id, round: null, settlement: null });
    const verification = await verifyRecord(fetched.record);
    expect(verification.ok).toBe(true);
    expect(verification.checks.slice(0, 4).map((c) => c.status)).toEqual([
      "pass",
      "pass",
      "pass",
      "pass",
    ]);
  });

  it("says why it has no record: not_found, unauthorized, unreachable, and timeout while waiting", async () => {
    const { key } = await createTestKey();
    const { body } = await call(key);
    const id = verityOf(body)?.inferenceId ?? "";
    const client = (apiKey: string, fetcher: typeof fetch = gateway) =>
      verityClient({ baseURL: "http://gateway.test/v1", apiKey, fetch: fetcher });

    expect(await client(key).record("0190a0a0-0000-7000-8000-000000000000")).toMatchObject({
      ok: false,
      reason: "not_found",
    });
    expect(await client("vty_not_a_key").record(id)).toMatchObject({
      ok: false,
      reason: "unauthorized",
    });
    const down: typeof fetch = () => Promise.reject(new TypeError("fetch failed"));
    expect(await client(key, down).record(id)).toMatchObject({
      ok: false,
      reason: "unreachable",
      message: expect.stringContaining("fetch failed"),
    });
    // No verifier answers in these tests: the round cannot decide, so waiting times out.
    expect(await client(key).verified(id, { timeoutMs: 50, intervalMs: 10 })).toMatchObject({
      ok: false,
      reason: "timeout",
    });
  });

  it("rides on an OpenAI client's base URL and key with withVerity", async () => {
    const { key } = await createTestKey();
    const openai = withVerity(
      { baseURL: "http://gateway.test/v1", apiKey: key },
      { fetch: gateway },
    );
    const { body } = await call(key);
    const fetched = await openai.verity.record(verityOf(body)?.inferenceId ?? "");
    expect(fetched.ok).toBe(true);
  });
});
