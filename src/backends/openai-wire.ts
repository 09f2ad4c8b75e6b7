import type { ChatMessage, ToolCall } from "@verity/protocol/request";
import type { ChosenTokenLogprob } from "@verity/protocol/response";
import { z } from "zod";
import type { ChatInput } from "./backend";
import type { UpstreamToolCall } from "./complete-chat";

// OpenAI's Chat Completions wire shapes, shared by the adapters of upstreams that speak them:
// the openai-compatible backend and the Workers AI models with OpenAI-shaped schemas.

/** A message as OpenAI's Chat Completions API writes it. */
export type OpenAiMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; tool_calls?: ToolCall[] }
  | { role: "tool"; content: string; tool_call_id: string };

/**
 * The canonical messages in OpenAI's shape. An assistant message that only called tools has
 * content "" in the canonical request and `null` on the wire, as OpenAI writes it: some servers'
 * chat templates render an empty string as an empty text turn.
 */
export function openAiMessages(messages: readonly ChatMessage[]): OpenAiMessage[] {
  return messages.map((message): OpenAiMessage => {
    switch (message.role) {
      case "assistant":
        return message.tool_calls
          ? { role: "assistant", content: message.content || null, tool_calls: message.tool_calls }
          : { role: "assistant", content: message.content };
      case "tool":
        return { role: "tool", content: message.content, tool_call_id: message.tool_call_id ?? "" };
      default:
        return { role: message.role, content: message.content };
    }
  });
}

/**
 * The optional request fields that OpenAI's API spells as the canonical request does, each
 * written only when the request has it: penalties, `logit_bias`, `logprobs`/`top_logprobs`,
 * `tools`, `tool_choice`, `parallel_tool_calls` and `response_format`. `n` is not among them: each
 * choice is its own call (see `choiceSeed`).
 */
export function openAiOptionalFields(input: ChatInput): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    frequency_penalty: input.frequency_penalty,
    presence_penalty: input.presence_penalty,
    logit_bias: input.logit_bias,
    logprobs: input.logprobs,
    top_logprobs: input.logprobs ? input.top_logprobs : undefined,
    tools: input.tools,
    tool_choice: input.tools ? input.tool_choice : undefined,
    parallel_tool_calls: input.tools ? input.parallel_tool_calls : undefined,
    response_format: input.response_format,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

/**
 * The seed sent upstream for choice `choice` of a request: the request's own for choice 0, so a
 * one-choice request is sent as before, and a different one for each further choice, which an
 * upstream that honours seeds would otherwise answer n times alike. The golden-ratio step
 * spreads the choices of one request away from the seeds of its neighbours.
 */
export function choiceSeed(seed: number, choice = 0): number {
  return choice === 0 ? seed : (seed + Math.imul(choice, 0x9e37_79b9)) >>> 0;
}

// Arguments are JSON text in OpenAI's shape; some servers (Ollama's native API, older vLLM
// parsers) write them as an object, which is read as its JSON text.
const Arguments = z.union([z.string(), z.record(z.string(), z.unknown())]).nullish();

/** A tool call of a message, or a piece of one in a streamed delta. */
export const WireToolCall = z.object({
  index: z.number().int().nonnegative().nullish(),
  id: z.string().nullish(),
  function: z.object({ name: z.string().nullish(), arguments: Arguments }).nullish(),
});

/** A choice's `logprobs`: the tokens of its content (refusal tokens are not reported). */
export const WireLogprobs = z
  .object({
    content: z
      .array(
        z.object({
          token: z.string(),
          logprob: z.number(),
          top_logprobs: z.array(z.object({ token: z.string(), logprob: z.number() })).nullish(),
        }),
      )
      .nullish(),
  })
  .nullish();

/** A streamed choice's `delta`. */
export const WireDelta = z.object({
  content: z.string().nullish(),
  tool_calls: z.array(WireToolCall).nullish(),
});

/** A non-streamed choice's `message`. */
export const WireMessage = z.object({
  content: z.string().nullish(),
  tool_calls: z.array(WireToolCall).nullish(),
});

export const argumentsText = (value: z.infer<typeof Arguments>): string =>
  value == null ? "" : typeof value === "string" ? value : JSON.stringify(value);

/**
 * Tool-call pieces as `completeChat` takes them. A piece without an index is taken to be the
 * call at its position, as in a non-streamed message.
 */
export function toolCallPieces(
  calls: readonly z.infer<typeof WireToolCall>[] | null | undefined,
): UpstreamToolCall[] | undefined {
  if (!calls || calls.length === 0) return undefined;
  return calls.map((call, position) => {
    const piece: UpstreamToolCall = {
      index: call.index ?? position,
      arguments: argumentsText(call.function?.arguments),
    };
    if (call.id) piece.id = call.id;
    if (call.function?.name) piece.name = call.function.name;
    return piece;
  });
}

/**
 * Log-probability entries in the protocol's shape. A log-probability is at most 0; an upstream
 * that rounds one to a hair above is clamped to 0.
 */
export function tokenLogprobs(
  logprobs: z.infer<typeof WireLogprobs>,
): ChosenTokenLogprob[] | undefined {
  const content = logprobs?.content;
  if (!content || content.length === 0) return undefined;
  const clamp = (logprob: number) => Math.min(0, logprob);
  return content.map((entry) => ({
    token: entry.token,
    logprob: clamp(entry.logprob),
    top_logprobs: (entry.top_logprobs ?? []).map((top) => ({
      token: top.token,
      logprob: clamp(top.logprob),
    })),
  }));
}
