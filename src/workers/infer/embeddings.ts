import { newInferenceId } from "@verity/protocol";
import { INFERENCE_ID_HEADER } from "@verity/protocol/verity-client";
import type { Context } from "hono";
import { createModelRegistry } from "../../backends/registry";
import { invalidRequest } from "../../errors";
import { EmbeddingBody, normalizeEmbeddingRequest } from "./embedding-request";
import type { GatewayEnv } from "./gateway-env";
import { parseJsonBody } from "./json-body";
import { recordInference, verityBlock } from "./record-inference";
import { startRound } from "./rounds";

/**
 * `POST /v1/embeddings`: embed, sign, record, answer as floats or base64 float32. `dimensions`
 * shortens the vectors where the model can (see `normalizeEmbeddingRequest`).
 */
export async function embeddings(c: Context<GatewayEnv>): Promise<Response> {
  const body = await parseJsonBody(c, EmbeddingBody);
  const registry = createModelRegistry(c.env);
  const model = registry.get(body.model);
  if (model.kind !== "embedding") {
    throw invalidRequest(
      `'${model.id}' is a chat model; use /v1/chat/completions.`,
      "model",
      "model_not_embedding",
    );
  }
  const normalized = normalizeEmbeddingRequest(body, model);
  const { kind: _, ...request } = normalized;
  const result = await registry.backendFor(model).embed(model, request);
  // Vectors are rounded to float32 before hashing, so a base64 (float32) client holds exactly
  // the values the receipt commits to.
  const vectors = result.embeddings.map((v) => v.map(Math.fround));
  const id = newInferenceId();
  const receipt = await recordInference(c.env, {
    id,
    apiKeyId: c.get("apiKey").id,
    backend: model.backend,
    request: normalized,
    response: { kind: "embedding", embeddings: vectors },
    usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.promptTokens },
    stream: false,
    user: body.user,
  });
  c.executionCtx.waitUntil(startRound(c.env, id));
  const base64 = body.encoding_format === "base64";
  return c.json(
    {
      object: "list",
      data: vectors.map((embedding, index) => ({
        object: "embedding",
        index,
        embedding: base64 ? float32Base64(embedding) : embedding,
      })),
      model: model.id,
      usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.promptTokens },
      verity: verityBlock(receipt),
    },
    200,
    { [INFERENCE_ID_HEADER]: id },
  );
}

function float32Base64(vector: number[]): string {
  const bytes = new Uint8Array(new Float32Array(vector).buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
