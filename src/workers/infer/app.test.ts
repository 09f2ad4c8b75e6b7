import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { createTestKey, gatewayFetch } from "../../../test/gateway";
import { createGatewayApp } from "./app";
import { KEY_CACHE_MS } from "./auth";

let key: string;
beforeAll(async () => {
  ({ key } = await createTestKey());
});

const messages = [{ role: "user", content: "hello" }];

async function expectError(res: Response, status: number, param: string | null, code?: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: Record<string, unknown> };
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(body.error.param).toBe(param);
  if (code) expect(body.error.code).toBe(code);
  expect(String(body.error.message)).not.toMatch(/\bat .*\.(ts|js):\d+/);
  return body.error;
}

describe("authentication", () => {
  it("refuses a request without a key with 401", async () => {
    const res = await gatewayFetch("/v1/models");
    await expectError(res, 401, null, "missing_api_key");
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
  });

  it("refuses an unknown key with 401", async () => {
    await expectError(
      await gatewayFetch("/v1/models", { key: "vty_nope" }),
      401,
      null,
      "invalid_api_key",
    );
  });

  it("refuses a string not shaped like a key without a D1 read, and reads an unknown key once per cache time", async () => {
    const prepare = vi.spyOn(env.DB, "prepare");
    // Only key lookups count: other files' rounds may still touch D1 in this runtime.
    const keyReads = () => prepare.mock.calls.filter(([query]) => query.includes("api_keys"));
    try {
      for (const bad of ["vty_nope", "sk-proj-abc", "x".repeat(500)]) {
        await expectError(
          await gatewayFetch("/v1/models", { key: bad }),
          401,
          null,
          "invalid_api_key",
        );
      }
      expect(keyReads()).toEqual([]);
      const unknown = `vty_${"A".repeat(32)}`;
      for (let i = 0; i < 5; i++) {
        await expectError(
          await gatewayFetch("/v1/models", { key: unknown }),
          401,
          null,
          "invalid_api_key",
        );
      }
      expect(keyReads().length).toBeLessThanOrEqual(1);
    } finally {
      prepare.mockRestore();
    }
  });

  it("answers 429 without a key lookup to an IP refused for its key too often this minute; a client at another IP is not", async () => {
    const { key } = await createTestKey();
    const app = createGatewayApp({ keyRefusalsPerIp: 3 });
    const models = (bearer: string, ip: string) =>
      app.request(
        "/v1/models",
        { headers: { authorization: `Bearer ${bearer}`, "cf-connecting-ip": ip } },
        env,
      );
    // One frozen instant: the counter's minute cannot roll over halfway through.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now());
    try {
      const made = (i: number) => `vty_${i.toString(36).padStart(32, "Z")}`;
      for (let i = 0; i < 3; i++) expect((await models(made(i), "203.0.113.77")).status).toBe(401);
      const prepare = vi.spyOn(env.DB, "prepare");
      try {
        const limited = await models(made(9), "203.0.113.77");
        expect(limited.status).toBe(429);
        expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(await limited.json()).toMatchObject({ error: { code: "rate_limit_exceeded" } });
        expect(prepare.mock.calls.filter(([query]) => query.includes("api_keys"))).toEqual([]);
      } finally {
        prepare.mockRestore();
      }
      expect((await models(key, "198.51.100.8")).status).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });

  it("refuses a revoked key with 401, at once if unseen and within the cache time if seen", async () => {
    const revoke = (id: string) =>
      env.DB.prepare("update api_keys set revoked_at = ? where id = ?").bind(Date.now(), id).run();
    const unseen = await createTestKey();
    await revoke(unseen.id);
    await expectError(
      await gatewayFetch("/v1/models", { key: unseen.key }),
      401,
      null,
      "invalid_api_key",
    );

    const seen = await createTestKey();
    expect((await gatewayFetch("/v1/models", { key: seen.key })).status).toBe(200);
    await revoke(seen.id);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + KEY_CACHE_MS + 1);
      await expectError(
        await gatewayFetch("/v1/models", { key: seen.key }),
        401,
        null,
        "invalid_api_key",
      );
    } finally {
      vi.useRealTimers();
    }
  });

  it("stores keys only as hashes", async () => {
    const { key: fresh, id } = await createTestKey();
    const row = await env.DB.prepare("select * from api_keys where id = ?").bind(id).first();
    expect(JSON.stringify(row)).not.toContain(fresh);
  });
});

describe("rate limit", () => {
  it("answers 429 with retry-after once a key is over its limit", async () => {
    const limited = await createTestKey({ rateLimitPerMinute: 3 });
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 5; i++) {
      last = await gatewayFetch("/v1/models", { key: limited.key });
      statuses.push(last.status);
      if (last.status === 200) await last.body?.cancel();
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const error = await expectError(last as Response, 429, null, "rate_limit_exceeded");
    expect(error.type).toBe("rate_limit_error");
    expect(Number(last?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Another key has its own bucket.
    expect((await gatewayFetch("/v1/models", { key })).status).toBe(200);
  });

  it("reports the limit and what remains on success", async () => {
    const res = await gatewayFetch("/v1/models", { key });
    expect(res.headers.get("x-ratelimit-limit-requests")).toBe("10000");
    expect(Number(res.headers.get("x-ratelimit-remaining-requests"))).toBeGreaterThan(0);
  });
});

describe("request errors", () => {
  const post = (body: BodyInit, contentType = "application/json") =>
    gatewayFetch("/v1/chat/completions", {
      method: "POST",
      key,
      body,
      headers: { "content-type": contentType },
    });

  it("answers malformed JSON with 400", async () => {
    await expectError(await post("{not json"), 400, null, "invalid_json");
  });

  it("names the invalid field in param", async () => {
    const cases: [unknown, string][] = [
      [{ messages }, "model"],
      [{ model: "verity-ngram-1" }, "messages"],
      [{ model: "verity-ngram-1", messages: [{ role: "robot", content: "x" }] }, "messages.0.role"],
      [{ model: "verity-ngram-1", messages, temperature: 3 }, "temperature"],
      [{ model: "verity-ngram-1", messages, max_tokens: 0 }, "max_tokens"],
      [{ model: "verity-ngram-1", messages, seed: -1 }, "seed"],
      [{ model: "verity-ngram-1", messages, stop: ["a", "b", "c", "d", "e"] }, "stop"],
      [{ model: "verity-ngram-1", messages, n: 17 }, "n"],
      [
        { model: "verity-ngram-1", messages, stream_options: { include_usage: true } },
        "stream_options",
      ],
      [
        {
          model: "verity-ngram-1",
          messages,
          tools: [{ type: "function", function: { name: "no spaces" } }],
        },
        "tools.0.function.name",
      ],
    ];
    for (const [body, param] of cases) {
      await expectError(await post(JSON.stringify(body)), 400, param);
    }
  });

  it("answers an unknown model with 404 naming the model param", async () => {
    await expectError(
      await post(JSON.stringify({ model: "gpt-nope", messages })),
      404,
      "model",
      "model_not_found",
    );
  });

  it("refuses an embedding model on the chat route, and a chat model on embeddings, with 400", async () => {
    await expectError(
      await post(JSON.stringify({ model: "verity-embed-1", messages })),
      400,
      "model",
    );
    const res = await gatewayFetch("/v1/embeddings", {
      method: "POST",
      key,
      json: { model: "verity-ngram-1", input: "x" },
    });
    await expectError(res, 400, "model");
  });

  it("answers a body over 1 MiB with 413", async () => {
    const big = JSON.stringify({
      model: "verity-ngram-1",
      messages: [{ role: "user", content: "a".repeat(1_100_000) }],
    });
    await expectError(await post(big), 413, null, "request_too_large");
  });

  it("answers a non-JSON content type with 415", async () => {
    await expectError(
      await post("model=x", "application/x-www-form-urlencoded"),
      415,
      null,
      "unsupported_media_type",
    );
  });

  it("answers a wrong method with 405 and an Allow header", async () => {
    const res = await gatewayFetch("/v1/chat/completions", { key });
    await expectError(res, 405, null, "method_not_allowed");
    expect(res.headers.get("allow")).toContain("POST");
  });

  it("answers an unknown route with 404 in OpenAI's shape", async () => {
    await expectError(await gatewayFetch("/v1/nothing-here", { key }), 404, null, "unknown_route");
    await expectError(await gatewayFetch("/nothing-here"), 404, null, "unknown_route");
  });
});

describe("GET /health", () => {
  it("is public and names the inference node", async () => {
    const res = await gatewayFetch("/health");
    expect(await res.json()).toMatchObject({
      status: "ok",
      node: expect.stringMatching(/^0x[0-9a-fA-F]{40}$/),
    });
  });
});
