import type { NormalizedEmbeddingRequest } from "@verity/protocol/request";
import { z } from "zod";
import type { ModelInfo } from "../../backends/backend";
import { estimateTokens } from "../../backends/token-estimate";
import { invalidRequest } from "../../errors";

const MAX_INPUTS = 2048;

const Text = z.string().min(1, { message: "must not be empty" });
const TokenIds = z.array(z.int().min(0)).min(1);

/**
 * The body of `POST /v1/embeddings`. Token arrays (`[1, 2, 3]` or `[[1, 2], [3]]`) are parsed
 * so that their refusal can say why (see `normalizeEmbeddingRequest`) rather than call a
 * well-formed request malformed.
 */
export const EmbeddingBody = z.strictObject({
  model: z.string().min(1),
  input: z.union([
    Text,
    z.array(Text).min(1).max(MAX_INPUTS),
    TokenIds,
    z.array(TokenIds).min(1).max(MAX_INPUTS),
  ]),
  dimensions: z.int({ message: "must be a positive integer" }).min(1).nullish(),
  encoding_format: z.enum(["float", "base64"]).optional(),
  user: z.string().max(256).optional(),
});
export type EmbeddingBody = z.output<typeof EmbeddingBody>;

/**
 * The canonical request of an embedding call, as hashed into its receipt: `input` as an array of
 * texts, and `dimensions` only when it asks for fewer than the model's own length (or for any
 * length, when the model's is unknown), so that requests without it hash as they always did.
 *
 * Refuses (400) token arrays: the canonical request holds texts, and no tokenizer is shared
 * with the verifiers that re-execute it. Refuses a `dimensions` the model cannot make: longer
 * than its vectors, or shorter when it cannot shorten them.
 */
export function normalizeEmbeddingRequest(
  body: EmbeddingBody,
  model: ModelInfo,
): NormalizedEmbeddingRequest {
  const input = typeof body.input === "string" ? [body.input] : body.input;
  const texts = input.filter((item): item is string => typeof item === "string");
  if (texts.length !== input.length) {
    throw invalidRequest(
      `The model '${model.id}' does not take token arrays; send text.`,
      "input",
      "unsupported_value",
    );
  }
  // Each input is embedded on its own, so each must fit the model's window (an estimate of
  // about four characters a token, as for chat: it refuses only what plainly cannot fit).
  const window = model.capabilities.contextWindow;
  texts.forEach((text, i) => {
    const tokens = estimateTokens(text);
    if (tokens > window) {
      throw invalidRequest(
        `This model's maximum context length is ${window} tokens, but input ${i} has about ${tokens}. Shorten it or split it.`,
        typeof body.input === "string" ? "input" : `input.${i}`,
        "context_length_exceeded",
      );
    }
  });
  const request: NormalizedEmbeddingRequest = { kind: "embedding", model: model.id, input: texts };
  const dimensions = body.dimensions ?? undefined;
  const length = model.capabilities.embeddingDimensions;
  if (dimensions === undefined || dimensions === length?.default) return request;
  if (length && (!length.shortenable || dimensions > length.default)) {
    const range = length.shortenable ? `1 to ${length.default}` : `${length.default}`;
    throw invalidRequest(
      `The model '${model.id}' makes ${length.default}-dimensional vectors${length.shortenable ? "" : " and cannot shorten them"}; dimensions must be ${range}.`,
      "dimensions",
    );
  }
  return { ...request, dimensions };
}
