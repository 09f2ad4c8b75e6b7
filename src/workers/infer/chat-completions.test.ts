import { env } from "cloudflare:workers";
import { requestHash, responseHash, verifyReceipt } from "@verity/protocol";
import { privateKeyToAccount } from "viem/accounts";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestKey, gatewayFetch, readSse } from "../../../test/gateway";

const nodeAddress = privateKeyToAccount(env.INFERENCE_NODE_KEY as `0x${string}`).address;
let key: string;
beforeAll(async () => {
  ({ key } = await createTestKey());
});

const chat = (json: Record<string, unknown>) =>
  gatewayFetch("/v1/chat/completions", {
    method: "POST",
    key,
    json: {
      model: "verity-ngram-1",
      messages: [{ role: "user", content: "Tell me about rivers." }],
      ...json,
    },
  });

interface ChatResponse {
  id: string;
  object: string;
  model: string;
  choices: { message: { role: string; content: string }; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  verity: {
    inference_id: string;
    status: string;
    receipt: Record<string, unknown> & { inferenceId: string };
  };
}

describe("POST /v1/chat/completions", () => {
  it("answers in OpenAI's shape with real token counts and a signed receipt", async () => {
    const res = await chat({ max_tokens: 24, seed: 7 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as ChatResponse;
    const id = res.headers.get("x-verity-inference-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.object).toBe("chat.completion");
    expect(body.model).toBe("verity-ngram-1");
    expect(body.choices[0]?.message.role).toBe("assistant");
    expect(body.choices[0]?.message.content.length).toBeGreaterThan(0);
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(24);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    expect(body.verity.inference_id).toBe(id);
    expect(body.verity.status).toBe("pending");
    expect(body.verity.receipt.node).toBe(nodeAddress);
    expect(await verifyReceipt(body.verity.receipt, { trustedNodes: [nodeAddress] })).toMatchObject(
      {
        ok: true,
        signer: nodeAddress,
      },
    );
  });

  it("stores the record before answering, and its hashes recompute to the receipt's", async () => {
    const res = await chat({ max_tokens: 16, temperature: 0.8, seed: 99, stop: ["zzz"] });
    const body = (await res.json()) as ChatResponse;
    const row = await env.DB.prepare("select * from inferences where id = ?")
      .bind(body.verity.inference_id)
      .first<Record<string, string>>();
    expect(row?.status).toBe("pending");
    const request = JSON.parse(row?.request ?? "null");
    const response = JSON.parse(row?.response ?? "null");
    expect(request).toEqual({
      kind: "chat",
      model: "verity-ngram-1",
      messages: [{ role: "user", content: "Tell me about rivers." }],
      temperature: 0.8,
      top_p: 1,
      max_tokens: 16,
      seed: 99,
      stop: ["zzz"],
    });
    expect(response).toEqual({
      kind: "chat",
      content: body.choices[0]?.message.content,
      finish_reason: body.choices[0]?.finish_reason,
    });
    expect(requestHash(request)).toBe(body.verity.receipt.requestHash);
    expect(responseHash(response)).toBe(body.verity.receipt.responseHash);
    expect(JSON.parse(row?.receipt ?? "null")).toEqual(body.verity.receipt);
    expect(
      await verifyReceipt(body.verity.receipt, { request, response, trustedNodes: [nodeAddress] }),
    ).toMatchObject({ ok: true });
  });

  it("draws and records a seed when the client sends none, so the call can be replayed", async () => {
    const body = (await (await chat({ max_tokens: 8 })).json()) as ChatResponse;
    const row = await env.DB.prepare("select request from inferences where id = ?")
      .bind(body.verity.inference_id)
      .first<{ request: string }>();
    const { seed } = JSON.parse(row?.request ?? "{}");
    expect(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff).toBe(true);
    const replay = (await (await chat({ max_tokens: 8, seed })).json()) as ChatResponse;
    expect(replay.choices[0]?.message.content).toBe(body.choices[0]?.message.content);
  });

  it("reproduces the same content for the same seed and differs across seeds", async () => {
    const run = async (seed: number) =>
      ((await (await chat({ max_tokens: 24, temperature: 1, seed })).json()) as ChatResponse)
        .choices[0]?.message.content;
    expect(await run(1)).toBe(await run(1));
    const outputs = new Set(await Promise.all([1, 2, 3, 4].map(run)));
    expect(outputs.size).toBeGreaterThan(1);
  });

  it("honours max_tokens and max_completion_tokens with finish_reason length", async () => {
    for (const limit of [{ max_tokens: 3 }, { max_completion_tokens: 3 }]) {
      const body = (await (await chat({ ...limit, temperature: 0 })).json()) as ChatResponse;
      expect(body.usage.completion_tokens).toBeLessThanOrEqual(3);
      if (body.usage.completion_tokens === 3) expect(body.choices[0]?.finish_reason).toBe("length");
    }
  });

  it("accepts content as text parts and the developer role", async () => {
    const res = await gatewayFetch("/v1/chat/completions", {
      method: "POST",
      key,
      json: {
        model: "verity-ngram-1",
        messages: [
          { role: "developer", content: "Be brief." },
          {
            role: "user",
            content: [
              { type: "text", text: "Tell me " },
              { type: "text", text: "about rivers." },
            ],
          },
        ],
        max_tokens: 4,
      },
    });
    expect(res.status).toBe(200);
  });
});

describe("POST /v1/chat/completions with stream: true", () => {
  it("streams chunks, ends with [DONE], and carries the receipt in the last chunk", async () => {
    const res = await chat({ stream: true, max_tokens: 12, seed: 3 });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const id = res.headers.get("x-verity-inference-id");
    const events = await readSse(res);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe("assistant");
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    const last = chunks.at(-1);
    expect(last.choices[0].finish_reason).toMatch(/stop|length/);
    expect(last.verity.inference_id).toBe(id);
    expect(chunks.slice(0, -1).some((c) => "verity" in c)).toBe(false);
    const deltas = chunks.filter((c) => c.choices[0]?.delta.content);
    expect(deltas.length).toBeGreaterThan(1);

    const row = await env.DB.prepare("select response, stream from inferences where id = ?")
      .bind(id)
      .first<{ response: string; stream: number }>();
    expect(JSON.parse(row?.response ?? "{}").content).toBe(content);
    expect(row?.stream).toBe(1);
    expect(responseHash(JSON.parse(row?.response ?? "{}"))).toBe(last.verity.receipt.responseHash);
  });

  it("streams the same content as the non-streamed call for the same seed", async () => {
    const plain = (await (await chat({ max_tokens: 20, seed: 11 })).json()) as ChatResponse;
    const events = await readSse(await chat({ stream: true, max_tokens: 20, seed: 11 }));
    const content = events
      .slice(0, -1)
      .map((e) => JSON.parse(e).choices[0]?.delta.content ?? "")
      .join("");
    expect(content).toBe(plain.choices[0]?.message.content);
  });

  it("honours stream_options.include_usage with a final usage chunk that carries the receipt", async () => {
    const events = await readSse(
      await chat({ stream: true, stream_options: { include_usage: true }, max_tokens: 10 }),
    );
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.usage.completion_tokens).toBeGreaterThan(0);
    expect(last.usage.total_tokens).toBe(last.usage.prompt_tokens + last.usage.completion_tokens);
    expect(last.verity.receipt.inferenceId).toBe(last.verity.inference_id);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });
});
