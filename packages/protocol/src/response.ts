import type { Hex } from "viem";
import { z } from "zod";
import { hashCanonical, JsonString } from "./canonical";
import { ToolCall } from "./request";

/** A token's log-probability (natural log) as the model scored it. */
export const TokenLogprob = z.strictObject({ token: JsonString, logprob: z.number().max(0) });

/** One generated token, with the likeliest alternatives when `top_logprobs` asked for them. */
export const ChosenTokenLogprob = z.strictObject({
  token: JsonString,
  logprob: z.number().max(0),
  top_logprobs: z.array(TokenLogprob),
});
export type ChosenTokenLogprob = z.infer<typeof ChosenTokenLogprob>;

/** One choice of a chat completion: its text or tool calls, why it ended, and its logprobs. */
export const ChatChoiceContent = z.strictObject({
  content: JsonString,
  finish_reason: z.enum(["stop", "length", "tool_calls"]),
  tool_calls: z.array(ToolCall).min(1).optional(),
  logprobs: z.strictObject({ content: z.array(ChosenTokenLogprob) }).optional(),
});
export type ChatChoiceContent = z.infer<typeof ChatChoiceContent>;

/**
 * A chat completion, exactly as hashed into `responseHash`: choice 0 at the top level, and,
 * when the request asked for n > 1, choices 1 to n−1 in `other_choices`. Written that way, a
 * one-choice answer without tools or logprobs hashes exactly as it did before they existed.
 */
export const ChatResponseContent = z.strictObject({
  kind: z.literal("chat"),
  ...ChatChoiceContent.shape,
  other_choices: z.array(ChatChoiceContent).min(1).optional(),
});
export type ChatResponseContent = z.infer<typeof ChatResponseContent>;

/** Every choice of a chat completion, in order. */
export function chatChoices(response: ChatResponseContent): ChatChoiceContent[] {
  const { kind: _, other_choices, ...first } = response;
  return [first, ...(other_choices ?? [])];
}

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
