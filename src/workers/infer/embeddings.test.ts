import { env } from "cloudflare:workers";
import { responseHash } from "@verity/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestKey, gatewayFetch } from "../../../test/gateway";
import type { ModelInfo } from "../../backends/backend";
import { EMBEDDING_DIMENSIONS } from "../../backends/reference/embed-text";
import { EmbeddingBody, normalizeEmbeddingRequest } from "./embedding-request";

let key: string;
beforeAll(async () => {
  ({ key } = await createTestKey());
});

interface EmbeddingResponse {
  object: string;
  data: { object: string; index: number; embedding: number[] | string }[];
  usage: { prompt_tokens: number; total_tokens: number };
  verity: { inference_id: string; receipt: { requestHash: string; responseHash: string } };
}

interface ErrorResponse {
  error: { message: string; param: string | null; code: string };
}

const refusal = async (json: Record<string, unknown>) => {
  const res = await gatewayFetch("/v1/embeddings", {
    method: "POST",
    key,
    json: { model: "verity-embed-1", ...json },
  });
  expect(res.status).toBe(400);
  return ((await res.json()) as ErrorResponse).error;
};

const storedRequest = async (id: string) => {
  const row = await env.DB.prepare("select request from inferences where id = ?")
    .bind(id)
    .first<{ request: string }>();
  return JSON.parse(row?.request ?? "{}");
};

const embed = async (json: Record<string, unknown>) => {
  const res = await gatewayFetch("/v1/embeddings", {
    method: "POST",
    key,
    json: { model: "verity-embed-1", ...json },
  });
  expect(res.status).toBe(200);
  return { res, body: (await res.json()) as EmbeddingResponse };
};

const decode = (b64: string) => {
  const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  return [...new Float32Array(bytes.buffer)];
};

describe("POST /v1/embeddings", () => {
  it("embeds a string and an array, with usage and a receipt over the stored vectors", async () => {
    const single = await embed({ input: "the cat sat on the mat" });
    expect(single.body.object).toBe("list");
    expect(single.body.data).toHaveLength(1);
    expect(single.body.usage.prompt_tokens).toBeGreaterThan(0);
    const many = await embed({ input: ["one river", "two rivers", "three"] });
    expect(many.body.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const row = await env.DB.prepare("select response from inferences where id = ?")
      .bind(many.body.verity.inference_id)
      .first<{ response: string }>();
    const stored = JSON.parse(row?.response ?? "{}");
    expect(stored.embeddings).toEqual(many.body.data.map((d) => d.embedding));
    expect(responseHash(stored)).toBe(many.body.verity.receipt.responseHash);
  });

  it("encodes base64 as float32 values identical to the float response", async () => {
    const floats = await embed({ input: "rivers and lakes", encoding_format: "float" });
    const b64 = await embed({ input: "rivers and lakes", encoding_format: "base64" });
    expect(typeof b64.body.data[0]?.embedding).toBe("string");
    expect(decode(b64.body.data[0]?.embedding as string)).toEqual(floats.body.data[0]?.embedding);
    expect(b64.body.verity.receipt.responseHash).toBe(floats.body.verity.receipt.responseHash);
  });

  it("refuses an empty input with 400 naming input", async () => {
    const res = await gatewayFetch("/v1/embeddings", {
      method: "POST",
      key,
      json: { model: "verity-embed-1", input: "" },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe("input");
  });
});

describe("POST /v1/embeddings: dimensions and token arrays", () => {
  it("shortens vectors to dimensions and commits to dimensions in the canonical request", async () => {
    const { body } = await embed({ input: "rivers and lakes", dimensions: 64 });
    expect(body.data[0]?.embedding).toHaveLength(64);
    expect(await storedRequest(body.verity.inference_id)).toEqual({
      kind: "embedding",
      model: "verity-embed-1",
      input: ["rivers and lakes"],
      dimensions: 64,
    });
  });

  it("leaves dimensions equal to the model's length out of the canonical request, so its hash is unchanged", async () => {
    const plain = await embed({ input: "rivers and lakes" });
    const full = await embed({ input: "rivers and lakes", dimensions: EMBEDDING_DIMENSIONS });
    expect(await storedRequest(full.body.verity.inference_id)).not.toHaveProperty("dimensions");
    expect(full.body.verity.receipt.requestHash).toBe(plain.body.verity.receipt.requestHash);
    expect(full.body.data[0]?.embedding).toEqual(plain.body.data[0]?.embedding);
  });

  it("refuses dimensions above the model's length with 400 naming dimensions and the range", async () => {
    const error = await refusal({ input: "a", dimensions: EMBEDDING_DIMENSIONS + 1 });
    expect(error).toMatchObject({
      param: "dimensions",
      message: `The model 'verity-embed-1' makes ${EMBEDDING_DIMENSIONS}-dimensional vectors; dimensions must be 1 to ${EMBEDDING_DIMENSIONS}.`,
    });
  });

  it("refuses a dimensions that is not a positive integer with 400 naming dimensions", async () => {
    for (const dimensions of [0, -3, 1.5, "64"]) {
      expect((await refusal({ input: "a", dimensions })).param).toBe("dimensions");
    }
  });

  it("refuses token arrays, flat or nested, with 400 naming input: the canonical request holds text", async () => {
    for (const input of [
      [1, 2, 3],
      [[1, 2], [3]],
    ]) {
      expect(await refusal({ input })).toMatchObject({
        param: "input",
        code: "unsupported_value",
        message: "The model 'verity-embed-1' does not take token arrays; send text.",
      });
    }
  });

  it("still refuses an empty token array as malformed, naming it", async () => {
    expect((await refusal({ input: [[]] })).param).toBe("input.0");
  });
});

describe("normalizeEmbeddingRequest", () => {
  const model = (embeddingDimensions?: ModelInfo["capabilities"]["embeddingDimensions"]) =>
    ({
      id: "m",
      backend: "openai-compatible",
      kind: "embedding",
      deterministic: false,
      ownedBy: "x",
      created: 0,
      capabilities: {
        contextWindow: 512,
        maxOutputTokens: 0,
        tools: false,
        jsonSchema: false,
        logprobs: false,
        images: false,
        maxChoices: 1,
        ...(embeddingDimensions ? { embeddingDimensions } : {}),
      },
    }) satisfies ModelInfo;
  const normalize = (body: Record<string, unknown>, m: ModelInfo) =>
    normalizeEmbeddingRequest(EmbeddingBody.parse({ model: "m", ...body }), m);

  it("refuses to shorten the vectors of a model that cannot, naming its one length", () => {
    expect(() =>
      normalize({ input: "a", dimensions: 256 }, model({ default: 768, shortenable: false })),
    ).toThrow(
      "The model 'm' makes 768-dimensional vectors and cannot shorten them; dimensions must be 768.",
    );
    expect(
      normalize({ input: "a", dimensions: 768 }, model({ default: 768, shortenable: false })),
    ).toEqual({ kind: "embedding", model: "m", input: ["a"] });
  });

  it("passes any dimensions on when the model's length is unknown, for its upstream to decide", () => {
    expect(normalize({ input: ["a", "b"], dimensions: 4096 }, model())).toEqual({
      kind: "embedding",
      model: "m",
      input: ["a", "b"],
      dimensions: 4096,
    });
  });
});
