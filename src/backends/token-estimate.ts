import type { ChatMessage, FunctionTool } from "@verity/protocol/request";

// Roughly four characters per token for English BPE vocabularies (OpenAI's rule of thumb).
// Only used when an upstream reports no usage; it is an estimate, never a measurement.
const CHARS_PER_TOKEN = 4;
// Chat templates wrap each message in role markers, and the reply in a priming header.
const TOKENS_PER_MESSAGE = 4;
const TOKENS_PER_REPLY = 3;

/** Estimated token count of `text`, for upstreams that report no usage. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / CHARS_PER_TOKEN);
}

/**
 * Estimated prompt tokens of a chat, template overhead included, for upstreams that report no
 * usage: the messages' text and the tool calls they carry, and the tool definitions (which chat
 * templates write into the prompt as JSON) when given.
 */
export function estimatePromptTokens(
  messages: readonly ChatMessage[],
  tools: readonly FunctionTool[] = [],
): number {
  let total = TOKENS_PER_REPLY;
  for (const message of messages) {
    total += TOKENS_PER_MESSAGE + estimateTokens(message.content);
    for (const call of message.tool_calls ?? []) {
      total += estimateTokens(call.function.name + call.function.arguments);
    }
  }
  if (tools.length > 0) total += estimateTokens(JSON.stringify(tools));
  return total;
}
