import { NormalizedChatRequest, NormalizedEmbeddingRequest } from "@verity/protocol/request";
import { z } from "zod";
import { invalidRequest, notFound } from "../../errors";
import type { Backend, ChatInput, ChatOptions, EmbeddingInput, ModelInfo } from "../backend";
import { chatEvents } from "./chat-events";
import { EMBEDDING_DIMENSIONS, embedText } from "./embed-text";
import type { NgramModel } from "./ngram-model";
import { referenceLanguageModel } from "./reference-language-model";
import { REFERENCE_MODELS } from "./reference-models";
import { compileRequestSchemas, type RequestSchemas } from "./request-schemas";

// The n choices of a request are n calls with the same input: its schemas are compiled once.
const compiled = new WeakMap<ChatInput, RequestSchemas>();

import { countTokens } from "./tokenize";

const DecodingParameters = NormalizedChatRequest.omit({ kind: true, model: true }).loose();
const EmbeddingParameters = NormalizedEmbeddingRequest.pick({ input: true, dimensions: true })
  .extend({ dimensions: z.int().min(1).max(EMBEDDING_DIMENSIONS).optional() })
  .loose();

/**
 * The embedded reference models, computed in the worker itself: `verity-ngram-1` (chat) and
 * `verity-embed-1` (embeddings). Both are deterministic to the bit, so a verifier that runs
 * the same request gets the same output.
 */
export const referenceBackend: Backend = {
  name: "reference",

  async *chat(model: ModelInfo, input: ChatInput, options: ChatOptions = {}) {
    requireModel(model, "chat");
    validate(DecodingParameters, input, "chat request", "");
    const language = referenceLanguageModel();
    checkLogitBias(language, input);
    let schemas = compiled.get(input);
    if (!schemas) {
      schemas = compileRequestSchemas(input);
      compiled.set(input, schemas);
    }
    yield* chatEvents(language, input, options, schemas);
  },

  async embed(model: ModelInfo, request: EmbeddingInput, signal?: AbortSignal) {
    requireModel(model, "embedding");
    validate(EmbeddingParameters, request, "embedding request", "");
    const embeddings: number[][] = [];
    let promptTokens = 0;
    for (const text of request.input) {
      signal?.throwIfAborted();
      embeddings.push(embedText(text, request.dimensions));
      promptTokens += countTokens(text);
    }
    return { embeddings, usage: { promptTokens } };
  },
};

/** Bias keys are verity-ngram-1 token ids: the index of a word in its vocabulary. */
function checkLogitBias(model: NgramModel, input: ChatInput): void {
  for (const key of Object.keys(input.logit_bias ?? {})) {
    if (Number(key) >= model.vocab.length) {
      throw invalidRequest(
        `logit_bias names token ${key}, but verity-ngram-1's token ids run from 0 to ${model.vocab.length - 1}.`,
        "logit_bias",
      );
    }
  }
}

function validate(schema: z.ZodType, value: unknown, what: string, root: string): void {
  const parsed = schema.safeParse(value);
  if (parsed.success) return;
  const issue = parsed.error.issues[0];
  const param = [root, ...(issue?.path ?? [])].filter((part) => part !== "").join(".");
  throw invalidRequest(`Invalid ${what}: ${issue?.message ?? "malformed"}`, param || null);
}

function requireModel(model: ModelInfo, kind: ModelInfo["kind"]): void {
  const name = model.upstreamId ?? model.id;
  const known = REFERENCE_MODELS.find((candidate) => candidate.id === name);
  if (!known || model.backend !== "reference") {
    throw notFound(
      `The model '${model.id}' does not exist or is not served here.`,
      "model_not_found",
      "model",
    );
  }
  if (known.kind !== kind) {
    const endpoint = kind === "chat" ? "/v1/chat/completions" : "/v1/embeddings";
    throw invalidRequest(
      `The model '${model.id}' is ${known.kind === "chat" ? "a chat" : "an embedding"} model and cannot be used with ${endpoint}.`,
      "model",
      "model_not_supported",
    );
  }
}
