import { env } from "cloudflare:workers";
import { requestHash, responseHash } from "@verity/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestKey, gatewayFetch, readSse } from "../../../test/gateway";

let key: string;
beforeAll(async () => {
  ({ key } = await createTestKey());
});

const MODEL = "verity-ngram-1";
const ask = [{ role: "user", content: "What is the weather like in Paris today?" }];
const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Get the current weather for a city",
    parameters: {
      type: "object",
      properties: {
        city: { type: "string" },
        unit: { type: "string", enum: ["celsius", "fahrenheit"] },
      },
      required: ["city", "unit"],
      additionalProperties: false,
    },
    strict: true,
  },
};

const chat = (json: Record<string, unknown>) =>
  gatewayFetch("/v1/chat/completions", {
    method: "POST",
    key,
    json: { model: MODEL, messages: ask, max_tokens: 24, seed: 5, ...json },
  });

async function ok(res: Response) {
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  // biome-ignore lint/suspicious/noExplicitAny: the wire shape is asserted field by field
  return body as any;
}

async function refused(res: Response, param: string, message?: RegExp) {
  const body = (await res.json()) as { error: { message: string; param: string | null } };
  expect(res.status, JSON.stringify(body)).toBe(400);
  expect(body.error.param).toBe(param);
  if (message) expect(body.error.message).toMatch(message);
}

interface ToolCallDelta {
  index: number;
  id?: string;
  type?: string;
  function: { name?: string; arguments: string };
}
interface Choice {
  index: number;
  message: { content: string | null };
}

const storedRecord = (id: string) =>
  env.DB.prepare("select request, response, receipt from inferences where id = ?")
    .bind(id)
    .first<{ request: string; response: string; receipt: string }>();

describe("Chat Completions as real clients send it", () => {
  it("takes the second turn of the chat loop: the first answer pushed back as it came", async () => {
    const first = await ok(await chat({}));
    const message = first.choices[0].message;
    expect(message).toMatchObject({ role: "assistant", refusal: null, annotations: [] });
    const second = await ok(
      await chat({ messages: [...ask, message, { role: "user", content: "And tomorrow?" }] }),
    );
    expect(second.choices[0].message.content.length).toBeGreaterThan(0);
  });

  it("accepts every standard field at its default, and the ones that change nothing here", async () => {
    const body = await ok(
      await chat({
        frequency_penalty: 0,
        presence_penalty: 0,
        logprobs: false,
        logit_bias: {},
        tools: [],
        tool_choice: "none",
        parallel_tool_calls: true,
        response_format: { type: "text" },
        n: 1,
        store: false,
        metadata: { app: "test" },
        service_tier: "auto",
        user: "someone",
        prediction: { type: "content", content: "It is sunny." },
        prompt_cache_key: "k",
      }),
    );
    const plain = await ok(await chat({}));
    // None of them changes the answer, and none is written into the signed request.
    expect(body.choices[0].message.content).toBe(plain.choices[0].message.content);
    // The common output settings of apps fit the model's declared limit.
    expect((await chat({ max_completion_tokens: 16_384, max_tokens: null })).status).toBe(200);
  });

  it("refuses what the model cannot do with a 400 that names the field and says why", async () => {
    await refused(await chat({ max_tokens: 16_385 }), "max_tokens", /at most 16384/);
    await refused(
      await chat({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is this?" },
              { type: "image_url", image_url: { url: "https://example.com/a.png" } },
            ],
          },
        ],
      }),
      "messages.0.content.1",
      /does not support images/,
    );
    await refused(await chat({ reasoning_effort: "low" }), "reasoning_effort", /does not support/);
    await refused(await chat({ top_logprobs: 2 }), "top_logprobs", /requires logprobs/);
    await refused(await chat({ logit_bias: { 999999999: 5 } }), "logit_bias", /token ids run/);
    await refused(
      await chat({
        tool_choice: { type: "function", function: { name: "nope" } },
        tools: [weatherTool],
      }),
      "tool_choice.function.name",
    );
    await refused(
      await chat({ messages: [...ask, { role: "tool", content: "18C", tool_call_id: "call_x" }] }),
      "messages.1.tool_call_id",
    );
    await refused(await chat({ frobnicate: 1 }), "frobnicate", /Unrecognized request argument/);
    // About 150,000 tokens, past verity-ngram-1's declared 131,072-token context.
    const long = [{ role: "user", content: "word ".repeat(120_000) }];
    await refused(await chat({ messages: long }), "messages", /maximum context length is 131072/);
  });

  it("answers a named tool choice with a tool call whose arguments fit the parameters", async () => {
    const body = await ok(
      await chat({
        tools: [weatherTool],
        tool_choice: { type: "function", function: { name: "get_weather" } },
      }),
    );
    const choice = body.choices[0];
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    const [call] = choice.message.tool_calls;
    expect(call).toMatchObject({ type: "function", function: { name: "get_weather" } });
    expect(call.id).toMatch(/^call_[0-9A-Za-z]{24}$/);
    const args = JSON.parse(call.function.arguments);
    expect(Object.keys(args).sort()).toEqual(["city", "unit"]);
    expect(typeof args.city).toBe("string");
    expect(["celsius", "fahrenheit"]).toContain(args.unit);

    // The tool round trip: the call and its result pushed back, and the model answers in words.
    const after = await ok(
      await chat({
        tools: [weatherTool],
        messages: [
          ...ask,
          choice.message,
          { role: "tool", tool_call_id: call.id, content: '{"temperature": 18}' },
        ],
      }),
    );
    expect(after.choices[0].finish_reason).not.toBe("tool_calls");
    expect(after.choices[0].message.content.length).toBeGreaterThan(0);
  });

  it("calls the matching tool under auto, and streams it in OpenAI's delta format", async () => {
    const events = await readSse(await chat({ tools: [weatherTool], stream: true }));
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    const calls: ToolCallDelta[] = chunks.flatMap((c) =>
      c.choices.flatMap(
        (ch: { delta: { tool_calls?: ToolCallDelta[] } }) => ch.delta.tool_calls ?? [],
      ),
    );
    expect(calls[0]).toMatchObject({
      index: 0,
      type: "function",
      function: { name: "get_weather", arguments: "" },
    });
    expect(calls.slice(1).every((c) => c.id === undefined && c.index === 0)).toBe(true);
    const args = JSON.parse(calls.map((c) => c.function.arguments).join(""));
    expect(typeof args.city).toBe("string");
    const last = chunks.at(-1);
    expect(last.choices[0].finish_reason).toBe("tool_calls");
    expect(last.verity.receipt.inferenceId).toBe(last.verity.inference_id);
  });

  it("gives n choices under one receipt whose response hash covers them all", async () => {
    const body = await ok(await chat({ n: 3, temperature: 1 }));
    expect(body.choices.map((c: Choice) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(body.choices.map((c: Choice) => c.message.content)).size).toBe(3);
    const row = await storedRecord(body.verity.inference_id);
    const response = JSON.parse(row?.response ?? "{}");
    expect(response.other_choices).toHaveLength(2);
    expect(responseHash(response)).toBe(body.verity.receipt.responseHash);
    const request = JSON.parse(row?.request ?? "{}");
    expect(request.n).toBe(3);
    expect(requestHash(request)).toBe(body.verity.receipt.requestHash);
  });

  it("reports logprobs in OpenAI's shape, with each token's bytes", async () => {
    const body = await ok(await chat({ logprobs: true, top_logprobs: 2 }));
    const { content } = body.choices[0].logprobs;
    expect(content.map((t: { token: string }) => t.token).join("")).toBe(
      body.choices[0].message.content,
    );
    for (const token of content) {
      expect(token.bytes).toEqual([...new TextEncoder().encode(token.token)]);
      expect(token.top_logprobs.length).toBeLessThanOrEqual(2);
      expect(token.logprob).toBeLessThanOrEqual(0);
    }
  });

  it("writes only what changes the answer into the signed request", async () => {
    const body = await ok(
      await chat({
        frequency_penalty: 0.5,
        logit_bias: { 7: 3 },
        tools: [weatherTool],
        tool_choice: "none",
        store: true,
        metadata: { a: "b" },
      }),
    );
    const row = await storedRecord(body.verity.inference_id);
    const request = JSON.parse(row?.request ?? "{}");
    expect(request).toMatchObject({
      frequency_penalty: 0.5,
      logit_bias: { 7: 3 },
      tools: [weatherTool],
      tool_choice: "none",
    });
    expect(request).not.toHaveProperty("store");
    expect(request).not.toHaveProperty("metadata");
    expect(request).not.toHaveProperty("presence_penalty");
  });

  it("answers json_schema with JSON that fits the schema", async () => {
    const schema = {
      type: "object",
      properties: {
        name: { type: "string" },
        age: { type: "integer", minimum: 0, maximum: 120 },
        tags: { type: "array", items: { type: "string" } },
      },
      required: ["name", "age", "tags"],
      additionalProperties: false,
    };
    const body = await ok(
      await chat({
        max_tokens: 200,
        response_format: {
          type: "json_schema",
          json_schema: { name: "person", schema, strict: true },
        },
      }),
    );
    const value = JSON.parse(body.choices[0].message.content);
    expect(Object.keys(value).sort()).toEqual(["age", "name", "tags"]);
    expect(Number.isInteger(value.age)).toBe(true);
    expect(value.age).toBeGreaterThanOrEqual(0);
    expect(value.age).toBeLessThanOrEqual(120);
    expect(Array.isArray(value.tags)).toBe(true);
  });

  it("refuses a schema keyword the model cannot decode to, naming it", async () => {
    const res = await chat({
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "x",
          schema: { type: "object", properties: { code: { type: "string", pattern: "^[A-Z]+$" } } },
        },
      },
    });
    const body = (await res.json()) as { error: { param: string; message: string } };
    expect(res.status).toBe(400);
    expect(body.error.param).toMatch(/^response_format\.json_schema\.schema\.properties\.code/);
    expect(body.error.message).toMatch(/pattern/);
  });
});

describe("hostile requests are refused by field, fast", () => {
  const schemaFormat = (schema: unknown) => ({
    response_format: { type: "json_schema", json_schema: { name: "x", schema } },
  });

  it("refuses a regex pattern without running it, even beside a format", async () => {
    // Refused by what it is, not by running it: the pattern backtracks catastrophically.
    const res = await chat(
      schemaFormat({ type: "string", format: "uuid", pattern: "^([0-9a-f-]+)*[^0-9a-f-]$|." }),
    );
    await refused(res, "response_format.json_schema.schema.pattern", /only as zod writes it/);
  });

  it("refuses a oneOf too wide to check, and a schema of too many parts", async () => {
    const wide = { oneOf: Array.from({ length: 257 }, (_, i) => ({ const: i })) };
    await refused(await chat(schemaFormat(wide)), "response_format.json_schema.schema.oneOf");
    const huge = { anyOf: Array.from({ length: 20_001 }, (_, i) => ({ const: i })) };
    const body = (await (await chat(schemaFormat(huge))).json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/more than 20000 subschemas/);
  });

  it("refuses a body nested past the limit, naming where, instead of failing later", async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 6_000; i++) deep = [deep];
    const res = await chat({ ...schemaFormat({ type: "string", default: deep }), stream: true });
    const body = (await res.json()) as { error: { code: string; param: string } };
    expect(res.status).toBe(400);
    expect(body.error.code).toBe("too_deep");
    expect(body.error.param).toMatch(/^response_format\.json_schema\.schema\.default(\.0)+$/);
  });

  it("refuses a lone surrogate anywhere in the body, an enum value included", async () => {
    const res = await gatewayFetch("/v1/chat/completions", {
      method: "POST",
      key,
      headers: { "content-type": "application/json" },
      body: `{"model":"${MODEL}","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"enum":["\\ud800"]}}}}`,
    });
    await refused(res, "response_format.json_schema.schema.enum.0", /lone surrogate/);
  });

  it("refuses an embedding input longer than the model's context", async () => {
    const res = await gatewayFetch("/v1/embeddings", {
      method: "POST",
      key,
      json: { model: "verity-embed-1", input: ["short", "word ".repeat(120_000)] },
    });
    await refused(res, "input.1", /maximum context length is 131072/);
  });
});

describe("bounded and default-free requests", () => {
  it("refuses more than 1,024 logit biases, and writes no bias of 0", async () => {
    const many = Object.fromEntries(Array.from({ length: 1_025 }, (_, i) => [String(i + 1), 1]));
    await refused(await chat({ logit_bias: many }), "logit_bias", /at most 1024/);
    const body = await ok(await chat({ logit_bias: { 5: 0, 7: 2 } }));
    const row = await storedRecord(body.verity.inference_id);
    expect(JSON.parse(row?.request ?? "{}").logit_bias).toEqual({ 7: 2 });
  });

  it("refuses a number too large to be finite before generating anything", async () => {
    const res = await gatewayFetch("/v1/chat/completions", {
      method: "POST",
      key,
      headers: { "content-type": "application/json" },
      body: `{"model":"${MODEL}","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"string","default":1e999}}}}`,
    });
    await refused(res, "response_format.json_schema.schema.default", /not a finite number/);
  });

  it("cuts an answer the schema fixes whole at max_tokens, in pieces of bounded size", async () => {
    const nulls = { type: "array", items: { type: "null" }, minItems: 9_007_199_254_740_991 };
    const body = await ok(
      await chat({
        max_tokens: 4,
        response_format: { type: "json_schema", json_schema: { name: "x", schema: nulls } },
      }),
    );
    expect(body.choices[0].finish_reason).toBe("length");
    expect(body.choices[0].message.content.length).toBeLessThan(4 * 70);
  });
});
