import { env, exports } from "cloudflare:workers";
import { requestHash, responseHash } from "@verity/protocol";
import OpenAI from "openai";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestKey, gatewayFetch, readSse } from "../../../test/gateway";
import { startVerifierNetwork } from "../../../test/verifier-network";

const MODEL = "verity-ngram-1";
const PROMPT = "Rivers run to the sea and";
let key: string;
beforeAll(async () => {
  ({ key } = await createTestKey());
});

let network: Awaited<ReturnType<typeof startVerifierNetwork>> | undefined;
afterEach(async () => {
  if (!network) return;
  network.restore();
  network = undefined;
  await env.DB.prepare("delete from verifiers").run();
});

const complete = (json: Record<string, unknown>) =>
  gatewayFetch("/v1/completions", {
    method: "POST",
    key,
    json: { model: MODEL, prompt: PROMPT, seed: 7, ...json },
  });

// biome-ignore lint/suspicious/noExplicitAny: the wire shape is asserted field by field
type Json = any;

async function ok(res: Response): Promise<Json> {
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

async function refused(res: Response, param: string, message?: RegExp) {
  const body = (await res.json()) as { error: { message: string; param: string | null } };
  expect(res.status, JSON.stringify(body)).toBe(400);
  expect(body.error.param).toBe(param);
  if (message) expect(body.error.message).toMatch(message);
}

const recordOf = async (id: string) => {
  const row = await env.DB.prepare("select request, response, status from inferences where id = ?")
    .bind(id)
    .first<Record<string, string>>();
  return {
    request: JSON.parse(row?.request ?? "null"),
    response: JSON.parse(row?.response ?? "null"),
    status: row?.status,
  };
};

describe("POST /v1/completions", () => {
  it("answers a text_completion whose canonical request is one user message holding the prompt, with 16 tokens by default", async () => {
    const res = await complete({});
    const body = await ok(res);
    const id = res.headers.get("x-verity-inference-id");
    expect(body).toMatchObject({ id: `cmpl-${id}`, object: "text_completion", model: MODEL });
    const [choice] = body.choices;
    expect(choice).toMatchObject({ index: 0, logprobs: null });
    expect(["stop", "length"]).toContain(choice.finish_reason);
    expect(choice.text.length).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(16);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    const record = await recordOf(id ?? "");
    expect(record.request).toEqual({
      kind: "chat",
      model: MODEL,
      messages: [{ role: "user", content: PROMPT }],
      temperature: 1,
      top_p: 1,
      max_tokens: 16,
      seed: 7,
      stop: [],
    });
    expect(record.response.content).toBe(choice.text);
    expect(requestHash(record.request)).toBe(body.verity.receipt.requestHash);
    expect(responseHash(record.response)).toBe(body.verity.receipt.responseHash);
    expect(body.verity.inference_id).toBe(id);
  });

  it("answers as Chat Completions does for a user message holding the prompt", async () => {
    const completion = await ok(await complete({ max_tokens: 20 }));
    const chat = await ok(
      await gatewayFetch("/v1/chat/completions", {
        method: "POST",
        key,
        json: {
          model: MODEL,
          messages: [{ role: "user", content: PROMPT }],
          max_tokens: 20,
          seed: 7,
        },
      }),
    );
    expect(completion.choices[0].text).toBe(chat.choices[0].message.content);
  });

  it("takes a prompt as an array of one string, n choices, stop, penalties and temperature", async () => {
    const body = await ok(
      await complete({
        prompt: [PROMPT],
        n: 2,
        stop: ["zzz"],
        temperature: 0.5,
        top_p: 0.9,
        frequency_penalty: 0.5,
        presence_penalty: -0.5,
        best_of: 1,
        user: "u-1",
        max_tokens: 8,
      }),
    );
    expect(body.choices.map((c: Json) => c.index)).toEqual([0, 1]);
    const { request } = await recordOf(body.verity.inference_id);
    expect(request).toMatchObject({
      messages: [{ role: "user", content: PROMPT }],
      n: 2,
      stop: ["zzz"],
      temperature: 0.5,
      top_p: 0.9,
      frequency_penalty: 0.5,
      presence_penalty: -0.5,
      max_tokens: 8,
    });
  });

  it("echoes the prompt before the text without changing what is hashed", async () => {
    const plain = await ok(await complete({ max_tokens: 10 }));
    const echoed = await ok(await complete({ max_tokens: 10, echo: true }));
    expect(echoed.choices[0].text).toBe(PROMPT + plain.choices[0].text);
    expect(echoed.verity.receipt.requestHash).toBe(plain.verity.receipt.requestHash);
    expect(echoed.verity.receipt.responseHash).toBe(plain.verity.receipt.responseHash);
  });

  it("reports logprobs in this API's shape: tokens, their logprobs, k alternatives and the sampled one, offsets", async () => {
    const body = await ok(await complete({ logprobs: 2, max_tokens: 8 }));
    const { text, logprobs } = body.choices[0];
    expect(logprobs.tokens.join("")).toBe(text);
    expect(logprobs.token_logprobs).toHaveLength(logprobs.tokens.length);
    logprobs.tokens.forEach((token: string, i: number) => {
      const top = logprobs.top_logprobs[i];
      expect(Object.keys(top).length).toBeLessThanOrEqual(3);
      expect(top[token]).toBe(logprobs.token_logprobs[i]);
      expect(text.slice(logprobs.text_offset[i], logprobs.text_offset[i] + token.length)).toBe(
        token,
      );
    });
    const { request } = await recordOf(body.verity.inference_id);
    expect(request).toMatchObject({ logprobs: true, top_logprobs: 2 });
    const zero = await ok(await complete({ logprobs: 0, max_tokens: 4 }));
    const { request: zeroRequest } = await recordOf(zero.verity.inference_id);
    expect(zeroRequest.logprobs).toBe(true);
    expect(zeroRequest.top_logprobs).toBeUndefined();
  });

  it("refuses what it cannot do, naming the field", async () => {
    await refused(await complete({ prompt: [1, 2, 3] }), "prompt", /token ids/);
    await refused(await complete({ prompt: [[1, 2]] }), "prompt", /token ids/);
    await refused(await complete({ prompt: ["a", "b"] }), "prompt", /one per request/);
    await refused(await complete({ suffix: "the end" }), "suffix", /does not support suffix/);
    await refused(await complete({ best_of: 2 }), "best_of", /best_of must be 1/);
    await refused(await complete({ echo: true, logprobs: 1 }), "echo");
    await refused(await complete({ logprobs: 6 }), "logprobs");
    await refused(await complete({ max_tokens: 1_000_000 }), "max_tokens", /too large/);
    await refused(await complete({ stream_options: { include_usage: true } }), "stream_options");
    await refused(await complete({ messages: [] }), "messages");
    await refused(await complete({ model: "verity-embed-1" }), "model");
  });

  it("takes an empty suffix as none", async () => {
    await ok(await complete({ suffix: "", max_tokens: 4 }));
  });
});

describe("POST /v1/completions with stream: true", () => {
  it("streams text_completion chunks, the receipt in the last, then [DONE]", async () => {
    const res = await complete({ stream: true, max_tokens: 12 });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const id = res.headers.get("x-verity-inference-id");
    const events = await readSse(res);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.every((c) => c.object === "text_completion" && c.id === `cmpl-${id}`)).toBe(true);
    const text = chunks.map((c) => c.choices[0].text).join("");
    const last = chunks.at(-1);
    expect(last.choices[0].finish_reason).toMatch(/stop|length/);
    expect(last.verity.inference_id).toBe(id);
    expect(chunks.slice(0, -1).some((c) => "verity" in c)).toBe(false);
    const plain = await ok(await complete({ max_tokens: 12 }));
    expect(text).toBe(plain.choices[0].text);
  });

  it("streams the echoed prompt first, and a final usage chunk with the receipt when asked", async () => {
    const events = await readSse(
      await complete({
        stream: true,
        echo: true,
        stream_options: { include_usage: true },
        max_tokens: 6,
      }),
    );
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks[0].choices[0].text).toBe(PROMPT);
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.usage.total_tokens).toBe(last.usage.prompt_tokens + last.usage.completion_tokens);
    expect(last.verity.receipt.inferenceId).toBe(last.verity.inference_id);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it("streams logprobs with offsets that run on across chunks", async () => {
    const events = await readSse(await complete({ stream: true, logprobs: 1, max_tokens: 8 }));
    const pieces = events
      .slice(0, -1)
      .map((e) => JSON.parse(e).choices[0])
      .filter((c) => c?.logprobs);
    const text = pieces.map((c) => c.text).join("");
    for (const { logprobs } of pieces) {
      logprobs.tokens.forEach((token: string, i: number) => {
        expect(text.slice(logprobs.text_offset[i], logprobs.text_offset[i] + token.length)).toBe(
          token,
        );
      });
    }
  });
});

describe("legacy completions, verified and through the client", () => {
  it("a completion's record ends verified when its round re-executes it", async () => {
    network = await startVerifierNetwork(["", "", ""]);
    const body = await ok(await complete({ max_tokens: 8 }));
    const id = body.verity.inference_id;
    for (let i = 0; i < 600 && (await recordOf(id)).status === "pending"; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    expect((await recordOf(id)).status).toBe("verified");
  });

  it("openai: completions.create, plain and streamed", async () => {
    const client = new OpenAI({
      apiKey: key,
      baseURL: "http://gateway.test/v1",
      fetch: ((input: RequestInfo | URL, init?: RequestInit) =>
        exports.default.fetch(new Request(input as RequestInfo, init))) as typeof fetch,
    });
    const completion = await client.completions.create({
      model: MODEL,
      prompt: PROMPT,
      max_tokens: 8,
    });
    expect(completion.choices[0]?.text.length).toBeGreaterThan(0);
    const stream = await client.completions.create({
      model: MODEL,
      prompt: PROMPT,
      max_tokens: 8,
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text.length).toBeGreaterThan(0);
  });
});
