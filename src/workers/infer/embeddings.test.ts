import { env } from "cloudflare:workers";
import { responseHash } from "@verity/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestKey, gatewayFetch } from "../../../test/gateway";

let key: string;
beforeAll(async () => {
  ({ key } = await createTestKey());
});

interface EmbeddingResponse {
  object: string;
  data: { object: string; index: number; embedding: number[] | string }[];
  usage: { prompt_tokens: number; total_tokens: number };
  verity: { inference_id: string; receipt: { responseHash: string } };
}

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
