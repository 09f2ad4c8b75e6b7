import type { Hex } from "viem";
import { z } from "zod";
import { hashCanonical, JsonString } from "./canonical";

/** One chat message after normalisation: content is always a plain string. */
export const ChatMessage = z.strictObject({
  role: z.enum(["system", "user", "assistant"]),
  content: JsonString,
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/**
 * A chat request with every default resolved by the gateway, exactly as hashed into
 * `requestHash`. `seed` is always set so a verifier can re-execute the request.
 * Ranges follow OpenAI's: temperature 0..2, top_p 0..1, at most 4 stop sequences.
 */
export const NormalizedChatRequest = z.strictObject({
  kind: z.literal("chat"),
  model: JsonString.min(1),
  messages: z.array(ChatMessage).min(1),
  temperature: z.number().min(0).max(2),
  top_p: z.number().min(0).max(1),
  max_tokens: z.int().min(1),
  seed: z.uint32(),
  stop: z.array(JsonString.min(1)).max(4),
});
export type NormalizedChatRequest = z.infer<typeof NormalizedChatRequest>;

/** An embedding request, exactly as hashed into `requestHash`: `input` is always an array. */
export const NormalizedEmbeddingRequest = z.strictObject({
  kind: z.literal("embedding"),
  model: JsonString.min(1),
  input: z.array(JsonString).min(1),
});
export type NormalizedEmbeddingRequest = z.infer<typeof NormalizedEmbeddingRequest>;

/** What a receipt's `requestHash` commits to. */
export const NormalizedRequest = z.discriminatedUnion("kind", [
  NormalizedChatRequest,
  NormalizedEmbeddingRequest,
]);
export type NormalizedRequest = z.infer<typeof NormalizedRequest>;

/**
 * keccak256 of the RFC 8785 canonical JSON of the normalised request. The request is
 * hashed as given: validate it with `NormalizedRequest` first if it came from outside.
 */
export function requestHash(req: NormalizedRequest): Hex {
  return hashCanonical(req);
}
