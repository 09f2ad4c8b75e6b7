import type { ChosenTokenLogprob } from "@verity/protocol/response";
import type { ChatEvent, ChatInput, FinishReason } from "./backend";
import { StopSequenceFilter } from "./stop-sequences";
import { estimatePromptTokens, estimateTokens } from "./token-estimate";

/** A piece of the `index`th tool call, as an upstream sent it. */
export interface UpstreamToolCall {
  index: number;
  id?: string;
  name?: string;
  /** A piece of the JSON arguments; the pieces of one call join to the whole. */
  arguments: string;
}

/** What an adapter extracted from one upstream event (or from a whole non-streamed answer). */
export interface UpstreamChunk {
  text?: string;
  /** The log-probabilities of the tokens of `text` (and of tokens that added no text). */
  logprobs?: ChosenTokenLogprob[];
  toolCalls?: UpstreamToolCall[];
  /** Usage as reported by the upstream; a later report replaces an earlier one. */
  usage?: { promptTokens?: number; completionTokens?: number };
  /** The upstream's own finish reason, verbatim (`stop`, `length`, `model_length`, ...). */
  finishReason?: string;
}

/**
 * Turns an upstream's chunks into backend events: yields each delta and tool-call piece as it
 * arrives, applies `input.stop` to the text (the text ends before the first stop sequence, and the
 * upstream is released by ending the iteration of `chunks`), then yields exactly one `done`.
 *
 * Tool calls are passed on as they come; stop sequences do not apply to them. The first piece
 * of each call carries its id: the upstream's, or a fresh `call_…` when it gave none (Workers AI
 * never does), since a client answers a call by its id. Its name is passed on once.
 *
 * With `input.logprobs`, every delta carries the entries of the tokens whose text it completes;
 * text held back because it might begin a stop sequence takes its tokens along, and tokens after
 * a stop sequence report none. Entries the upstream sent unasked are dropped.
 *
 * The finish reason is "stop" when a stop sequence ended the text; else "tool_calls" when the
 * upstream says so after calling tools; else "length" when the upstream says so or when the
 * reported completion tokens reach `max_tokens`; else "tool_calls" if any tool was called; else
 * "stop". Usage is the upstream's; a count it does not report is estimated from the text and the
 * tool calls (see token-estimate.ts), since an answer must still be accounted for.
 */
export async function* completeChat(
  chunks: AsyncIterable<UpstreamChunk> | Iterable<UpstreamChunk>,
  input: ChatInput,
): AsyncGenerator<ChatEvent, void, undefined> {
  const filter = new StopSequenceFilter(input.stop);
  const logprobs = input.logprobs === true ? new LogprobQueue() : undefined;
  const delta = (text: string, release: Release): ChatEvent =>
    logprobs
      ? { type: "delta", text, logprobs: logprobs.release(release, text.length) }
      : { type: "delta", text };
  let generated = "";
  let held = 0;
  let toolText = "";
  const calls = new Map<number, { named: boolean }>();
  let usage: UpstreamChunk["usage"];
  let upstreamFinish: string | undefined;
  for await (const chunk of chunks) {
    if (chunk.usage) usage = chunk.usage;
    if (chunk.finishReason) upstreamFinish = chunk.finishReason;
    if (chunk.logprobs) logprobs?.push(chunk.logprobs);
    if (chunk.text) {
      generated += chunk.text;
      const text = filter.push(chunk.text);
      held += chunk.text.length - text.length;
      if (filter.stopped) {
        const last = delta(text, "overlapping");
        if (text || (last.type === "delta" && last.logprobs?.length)) yield last;
        break;
      }
      if (text) yield delta(text, held === 0 ? "all" : "covered");
    }
    for (const piece of chunk.toolCalls ?? []) {
      let call = calls.get(piece.index);
      const event: ChatEvent = {
        type: "tool_call",
        index: piece.index,
        arguments: piece.arguments,
      };
      if (!call) {
        call = { named: false };
        calls.set(piece.index, call);
        event.id = piece.id || newToolCallId();
      }
      if (piece.name && !call.named) {
        call.named = true;
        event.name = piece.name;
      }
      toolText += (event.name ?? "") + piece.arguments;
      yield event;
    }
  }
  if (!filter.stopped) {
    const rest = filter.flush();
    if (rest || logprobs?.pending) yield delta(rest, "all");
  }

  let finishReason: FinishReason = "stop";
  if (!filter.stopped) {
    const called = calls.size > 0;
    const toolsReported = upstreamFinish === "tool_calls" || upstreamFinish === "function_call";
    const lengthReported = upstreamFinish === "length" || upstreamFinish === "model_length";
    const reported = usage?.completionTokens;
    const budgetSpent = reported !== undefined && reported >= input.max_tokens;
    if (called && toolsReported) finishReason = "tool_calls";
    else if (lengthReported || budgetSpent) finishReason = "length";
    else if (called) finishReason = "tool_calls";
  }
  yield {
    type: "done",
    finishReason,
    usage: {
      promptTokens: usage?.promptTokens ?? estimatePromptTokens(input.messages, input.tools),
      completionTokens: usage?.completionTokens ?? estimateTokens(generated + toolText),
    },
  };
}

/**
 * Which queued entries a delta takes: all of them; those whose token text the emitted text
 * covers entirely; or those whose token text at least begins in it (the last delta before a stop
 * sequence, whose token may straddle the cut).
 */
type Release = "all" | "covered" | "overlapping";

/** Log-probability entries waiting for the text they belong to, matched by characters. */
class LogprobQueue {
  #queue: ChosenTokenLogprob[] = [];
  /** Characters of text emitted, and of token text whose entries were released. */
  #emitted = 0;
  #released = 0;

  get pending(): boolean {
    return this.#queue.length > 0;
  }

  push(entries: readonly ChosenTokenLogprob[]): void {
    this.#queue.push(...entries);
  }

  release(mode: Release, emitted: number): ChosenTokenLogprob[] {
    this.#emitted += emitted;
    if (mode === "all") {
      const all = this.#queue;
      this.#queue = [];
      this.#released = this.#emitted;
      return all;
    }
    const out: ChosenTokenLogprob[] = [];
    for (;;) {
      const next = this.#queue[0];
      if (!next) break;
      const fits =
        mode === "covered"
          ? this.#released + next.token.length <= this.#emitted
          : this.#released < this.#emitted;
      if (!fits) break;
      out.push(next);
      this.#queue.shift();
      this.#released += next.token.length;
    }
    return out;
  }
}

/** A tool call id in OpenAI's style, for upstreams that do not name their calls. */
function newToolCallId(): string {
  return `call_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
}
