import { z } from "zod";
import type { ChatInput } from "../../backends/backend";
import { invalidRequest } from "../../errors";

export const DEFAULT_MAX_TOKENS = 256;
export const MAX_TOKENS_LIMIT = 4096;
const UINT32_MAX = 0xffff_ffff;

const TextPart = z.strictObject({ type: z.literal("text"), text: z.string() });

const Message = z.strictObject({
  // OpenAI's newer "developer" role is the system role under another name.
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.union([z.string(), z.array(TextPart).min(1)]),
  name: z.string().max(64).optional(),
});

const TokenCount = z.number().int().min(1).max(MAX_TOKENS_LIMIT).nullish();

/** The body of `POST /v1/chat/completions`, as far as Verity supports it; unknown fields are refused. */
export const ChatCompletionBody = z.strictObject({
  model: z.string().min(1),
  messages: z.array(Message).min(1).max(1024),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: TokenCount,
  max_completion_tokens: TokenCount,
  seed: z
    .number()
    .int()
    .min(0)
    .max(UINT32_MAX, { message: `must be an integer from 0 to ${UINT32_MAX}` })
    .nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish(),
  n: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullish(),
  user: z.string().max(256).optional(),
});
export type ChatCompletionBody = z.output<typeof ChatCompletionBody>;

const randomSeed = () => crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;

/**
 * Resolves every default so the result fully determines the generation: this is the request
 * that is hashed into the receipt and that verifiers re-execute. Without a seed, one is drawn.
 */
export function normalizeChatRequest(body: ChatCompletionBody): ChatInput {
  if (body.n != null && body.n !== 1) {
    throw invalidRequest("Only n=1 is supported: every completion gets its own receipt.", "n");
  }
  if (body.stream_options && !body.stream) {
    throw invalidRequest("stream_options is only allowed when stream is true.", "stream_options");
  }
  return {
    model: body.model,
    messages: body.messages.map((m) => ({
      role: m.role === "developer" ? "system" : m.role,
      content: typeof m.content === "string" ? m.content : m.content.map((p) => p.text).join(""),
    })),
    temperature: body.temperature ?? 1,
    top_p: body.top_p ?? 1,
    max_tokens: body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_MAX_TOKENS,
    seed: body.seed ?? randomSeed(),
    stop: body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop,
  };
}
