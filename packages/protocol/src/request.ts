import type { Hex } from "viem";
import { z } from "zod";
import { hashCanonical, JsonString } from "./canonical";
import { InferenceId } from "./inference-id";

/** A function call the assistant made, as OpenAI spells it; `arguments` is JSON text. */
export const ToolCall = z.strictObject({
  id: JsonString.min(1),
  type: z.literal("function"),
  function: z.strictObject({ name: JsonString.min(1), arguments: JsonString }),
});
export type ToolCall = z.infer<typeof ToolCall>;

/**
 * One chat message after normalisation: content is always a plain string (`null` becomes ""),
 * an assistant message may carry the tool calls it made, and a `tool` message names the call it
 * answers. OpenAI's `developer` role is written as `system`.
 */
export const ChatMessage = z
  .strictObject({
    role: z.enum(["system", "user", "assistant", "tool"]),
    content: JsonString,
    tool_calls: z.array(ToolCall).min(1).optional(),
    tool_call_id: JsonString.min(1).optional(),
  })
  .refine((m) => m.tool_calls === undefined || m.role === "assistant", {
    message: "only an assistant message makes tool calls",
    path: ["tool_calls"],
  })
  .refine((m) => (m.role === "tool") === (m.tool_call_id !== undefined), {
    message: "a tool message, and only a tool message, names the call it answers",
    path: ["tool_call_id"],
  });
export type ChatMessage = z.infer<typeof ChatMessage>;

/**
 * A JSON Schema, kept as the caller wrote it: the hash commits to exactly that value. Its
 * members are not typed further (a recursive JSON type is too deep for TypeScript's checks of
 * its users); `hashCanonical` refuses anything that is not JSON.
 */
export const JsonSchema = z.record(JsonString, z.unknown());

/** A function the model may call. */
export const FunctionTool = z.strictObject({
  type: z.literal("function"),
  function: z.strictObject({
    name: JsonString.regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1 to 64 of a-z, A-Z, 0-9, _ and -"),
    description: JsonString.optional(),
    parameters: JsonSchema.optional(),
    strict: z.boolean().optional(),
  }),
});
export type FunctionTool = z.infer<typeof FunctionTool>;

export const ToolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.strictObject({ type: z.literal("function"), function: z.strictObject({ name: JsonString }) }),
]);
export type ToolChoice = z.infer<typeof ToolChoice>;

/** `response_format` other than plain text, which is the default and is never written. */
export const ResponseFormat = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("json_object") }),
  z.strictObject({
    type: z.literal("json_schema"),
    json_schema: z.strictObject({
      name: JsonString.min(1),
      description: JsonString.optional(),
      schema: JsonSchema.optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);
export type ResponseFormat = z.infer<typeof ResponseFormat>;

/** OpenAI's penalties, between −2 and 2. */
const Penalty = z.number().min(-2).max(2);

/**
 * A chat request with every default resolved by the gateway, exactly as hashed into
 * `requestHash`. `seed` is always set so a verifier can re-execute the request.
 * Ranges follow OpenAI's: temperature 0..2, top_p 0..1, at most 4 stop sequences.
 *
 * The optional fields change the answer and are written only when they differ from their
 * default (n 1, no penalty, no bias, no logprobs, no tools, text output), so a request that
 * uses none of them hashes exactly as it did before they existed. `tool_choice` is written
 * whenever `tools` is, and `parallel_tool_calls` only when it is false.
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
  n: z.int().min(2).max(128).optional(),
  frequency_penalty: Penalty.optional(),
  presence_penalty: Penalty.optional(),
  /** Token id (a decimal string) to a bias from −100 to 100, added to that token's logit. */
  logit_bias: z
    .record(z.string().regex(/^(0|[1-9][0-9]*)$/), z.number().min(-100).max(100))
    .optional(),
  logprobs: z.literal(true).optional(),
  top_logprobs: z.int().min(0).max(20).optional(),
  tools: z.array(FunctionTool).min(1).max(128).optional(),
  tool_choice: ToolChoice.optional(),
  parallel_tool_calls: z.literal(false).optional(),
  response_format: ResponseFormat.optional(),
  /**
   * The earlier response this request continues (the Responses API's `previous_response_id`),
   * written only when used. The earlier record's messages and its answer (choice 0) are the
   * first messages of `messages`; a verifier checks that against the earlier record, which the
   * task carries as `history` (see `VerificationTask`).
   */
  previous_response: z.strictObject({ inference_id: InferenceId }).optional(),
});
export type NormalizedChatRequest = z.infer<typeof NormalizedChatRequest>;

/**
 * An embedding request, exactly as hashed into `requestHash`: `input` is always an array, and
 * `dimensions` is written only when the caller asked for fewer than the model's own.
 */
export const NormalizedEmbeddingRequest = z.strictObject({
  kind: z.literal("embedding"),
  model: JsonString.min(1),
  input: z.array(JsonString).min(1),
  dimensions: z.int().min(1).optional(),
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
