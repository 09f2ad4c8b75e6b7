import type { ChatEvent, ChatInput, FinishReason } from "./backend";
import { StopSequenceFilter } from "./stop-sequences";
import { estimatePromptTokens, estimateTokens } from "./token-estimate";

/** What an adapter extracted from one upstream event (or from a whole non-streamed answer). */
export interface UpstreamChunk {
  text?: string;
  /** Usage as reported by the upstream; a later report replaces an earlier one. */
  usage?: { promptTokens?: number; completionTokens?: number };
  /** The upstream's own finish reason, verbatim (`stop`, `length`, `model_length`, ...). */
  finishReason?: string;
}

/**
 * Turns an upstream's chunks into backend events: yields each delta as it arrives, applies
 * `input.stop` (the text ends before the first stop sequence, and the upstream is released by
 * ending the iteration of `chunks`), then yields exactly one `done`.
 *
 * The finish reason is "length" when the upstream says so or when the reported completion
 * tokens reach `max_tokens`, else "stop". Usage is the upstream's; a count it does not report is
 * estimated from the text (see token-estimate.ts), since an answer must still be accounted for.
 */
export async function* completeChat(
  chunks: AsyncIterable<UpstreamChunk> | Iterable<UpstreamChunk>,
  input: ChatInput,
): AsyncGenerator<ChatEvent, void, undefined> {
  const filter = new StopSequenceFilter(input.stop);
  let generated = "";
  let usage: UpstreamChunk["usage"];
  let upstreamFinish: string | undefined;
  for await (const chunk of chunks) {
    if (chunk.usage) usage = chunk.usage;
    if (chunk.finishReason) upstreamFinish = chunk.finishReason;
    if (chunk.text) {
      generated += chunk.text;
      const text = filter.push(chunk.text);
      if (text) yield { type: "delta", text };
      if (filter.stopped) break;
    }
  }
  const rest = filter.flush();
  if (rest) yield { type: "delta", text: rest };

  let finishReason: FinishReason = "stop";
  if (!filter.stopped) {
    const lengthReported = upstreamFinish === "length" || upstreamFinish === "model_length";
    const reported = usage?.completionTokens;
    const budgetSpent = reported !== undefined && reported >= input.max_tokens;
    if (lengthReported || budgetSpent) finishReason = "length";
  }
  yield {
    type: "done",
    finishReason,
    usage: {
      promptTokens: usage?.promptTokens ?? estimatePromptTokens(input.messages),
      completionTokens: usage?.completionTokens ?? estimateTokens(generated),
    },
  };
}
