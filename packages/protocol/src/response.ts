import type { Hex } from "viem";
import { z } from "zod";
import { hashCanonical, JsonString } from "./canonical";

/** The generated text of a chat completion, exactly as hashed into `responseHash`. */
export const ChatResponseContent = z.strictObject({
  kind: z.literal("chat"),
  content: JsonString,
  finish_reason: z.enum(["stop", "length"]),
});
export type ChatResponseContent = z.infer<typeof ChatResponseContent>;

/** One vector per input, in input order, exactly as hashed into `responseHash`. */
export const EmbeddingResponseContent = z.strictObject({
  kind: z.literal("embedding"),
  embeddings: z.array(z.array(z.number())),
});
export type EmbeddingResponseContent = z.infer<typeof EmbeddingResponseContent>;

/** What a receipt's `responseHash` commits to. Usage counts are deliberately not part of it. */
export const ResponseContent = z.discriminatedUnion("kind", [
  ChatResponseContent,
  EmbeddingResponseContent,
]);
export type ResponseContent = z.infer<typeof ResponseContent>;

/**
 * keccak256 of the RFC 8785 canonical JSON of the response content. Hashed as given:
 * validate it with `ResponseContent` first if it came from outside.
 */
export function responseHash(resp: ResponseContent): Hex {
  return hashCanonical(resp);
}
