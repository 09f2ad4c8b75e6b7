import { NormalizedChatRequest } from "@verity/protocol/request";
import { z } from "zod";
import { invalidRequest, notFound } from "../../errors";
import type { Backend, ChatInput, ModelInfo } from "../backend";
import { chatEvents } from "./chat-events";
import { embedText } from "./embed-text";
import { referenceLanguageModel } from "./reference-language-model";
import { REFERENCE_MODELS } from "./reference-models";
import { countTokens } from "./tokenize";

const DecodingParameters = NormalizedChatRequest.pick({
  messages: true,
  temperature: true,
  top_p: true,
  max_tokens: true,
  seed: true,
  stop: true,
}).loose();
const EmbeddingInput = z.array(z.string());

/**
 * The embedded reference models, computed in the worker itself: `verity-ngram-1` (chat) and
 * `verity-embed-1` (embeddings). Both are deterministic to the bit, so a verifier that runs
 * the same request gets the same output.
 */
export const referenceBackend: Backend = {
  name: "reference",

  async *chat(model: ModelInfo, input: ChatInput, signal?: AbortSignal) {
    requireModel(model, "chat");
    validate(DecodingParameters, input, "chat request", "");
    yield* chatEvents(referenceLanguageModel(), input, signal);
  },

  async embed(model: ModelInfo, input: string[], signal?: AbortSignal) {
    requireModel(model, "embedding");
    validate(EmbeddingInput, input, "embedding input", "input");
    const embeddings: number[][] = [];
    let promptTokens = 0;
    for (const text of input) {
      signal?.throwIfAborted();
      embeddings.push(embedText(text));
      promptTokens += countTokens(text);
    }
    return { embeddings, usage: { promptTokens } };
  },
};

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
