import type { ChosenTokenLogprob } from "@verity/protocol/response";
import type { ChatEvent, ChatInput, ChatOptions, FinishReason } from "../backend";
import { StopSequenceFilter } from "../stop-sequences";
import { chooseTool } from "./choose-tool";
import { decodeJson } from "./decode-json";
import { Detokenizer } from "./detokenizer";
import { generateTokens } from "./generate-tokens";
import type { NgramModel } from "./ngram-model";
import { NgramSampler } from "./ngram-sampler";
import { ngramTextSource } from "./ngram-text-source";
import type { Piece } from "./piece";
import { compileRequestSchemas, type RequestSchemas } from "./request-schemas";
import { countMessageTokens } from "./tokenize";

type Usage = { promptTokens: number; completionTokens: number };

/**
 * The events of one choice of a verity-ngram-1 completion, then `done`. The answer is one of:
 * - a tool call, when `chooseTool` picks a function: its arguments are JSON decoded to the
 *   function's parameters (`decodeJson`), finish reason "tool_calls";
 * - JSON decoded to the `response_format` schema (any object for `json_object`);
 * - free text (`generateTokens`), one delta per token.
 * Stop sequences cut text and JSON (text that might begin one is held back until the next
 * tokens settle it, so a delta may carry several tokens) but not tool arguments. Every answer
 * ends with "length" after `max_tokens` tokens, cut where it stands, as OpenAI's do.
 * `completionTokens` counts every generated token, including those cut by a stop sequence.
 */
export function* chatEvents(
  model: NgramModel,
  input: ChatInput,
  options: ChatOptions = {},
  schemas: RequestSchemas = compileRequestSchemas(input),
): Generator<ChatEvent, void, undefined> {
  const sampler = new NgramSampler(model, input, options.choice ?? 0, input.logprobs === true);
  const usage = (completionTokens: number): Usage => ({
    promptTokens: countMessageTokens(input.messages),
    completionTokens,
  });
  const tool = chooseTool(input);
  if (tool) {
    const parameters = schemas.tools.get(tool.function.name);
    if (!parameters) throw new Error(`no compiled parameters for ${tool.function.name}`);
    const id = `call_${base62(sampler, 24)}`;
    yield { type: "tool_call", index: 0, id, name: tool.function.name, arguments: "" };
    const pieces = decodeJson(parameters, ngramTextSource(model, sampler), sampler.rng);
    let generated = 0;
    for (const piece of pieces) {
      if (generated === input.max_tokens) {
        yield { type: "done", finishReason: "length", usage: usage(generated) };
        return;
      }
      options.signal?.throwIfAborted();
      generated++;
      yield { type: "tool_call", index: 0, arguments: piece.token };
    }
    yield { type: "done", finishReason: "tool_calls", usage: usage(generated) };
    return;
  }
  const pieces = schemas.format
    ? jsonPieces(model, sampler, schemas.format, input.max_tokens)
    : textPieces(model, sampler, input);
  yield* emit(pieces, input, options.signal, usage);
}

/** Pieces of JSON for the response format, cut at `max_tokens`. */
function* jsonPieces(
  model: NgramModel,
  sampler: NgramSampler,
  format: NonNullable<RequestSchemas["format"]>,
  maxTokens: number,
): Generator<Piece, FinishReason, undefined> {
  let generated = 0;
  for (const piece of decodeJson(format, ngramTextSource(model, sampler), sampler.rng)) {
    if (generated === maxTokens) return "length";
    generated++;
    yield piece;
  }
  return "stop";
}

/** Pieces of free text: each token rendered, with its scores when the sampler keeps them. */
function* textPieces(
  model: NgramModel,
  sampler: NgramSampler,
  input: ChatInput,
): Generator<Piece, FinishReason, undefined> {
  const detokenizer = new Detokenizer();
  const tokens = generateTokens(model, input, sampler);
  for (;;) {
    const step = tokens.next();
    if (step.done) return step.value;
    const scores = sampler.last;
    const top = scores
      ? scores.ranked
          .slice(0, input.top_logprobs ?? 0)
          .map((s) => ({ token: detokenizer.peek(model.vocab[s.id] ?? ""), logprob: s.logprob }))
      : [];
    const token = detokenizer.render(model.vocab[step.value] ?? "");
    yield { token, logprob: scores?.chosen.logprob ?? 0, top_logprobs: top };
  }
}

/**
 * Turns pieces into delta events through the stop-sequence filter. With `logprobs`, each delta
 * carries the entries of the tokens whose text it completes; tokens cut by a stop sequence
 * report none.
 */
function* emit(
  pieces: Generator<Piece, FinishReason, undefined>,
  input: ChatInput,
  signal: AbortSignal | undefined,
  usage: (completionTokens: number) => Usage,
): Generator<ChatEvent, void, undefined> {
  const stops = new StopSequenceFilter(input.stop);
  const keep = input.logprobs === true;
  const topCount = input.top_logprobs ?? 0;
  let pending: ChosenTokenLogprob[] = [];
  let generated = 0;
  const delta = (text: string): ChatEvent => {
    if (!keep) return { type: "delta", text };
    const logprobs = pending;
    pending = [];
    return { type: "delta", text, logprobs };
  };
  for (;;) {
    signal?.throwIfAborted();
    const step = pieces.next();
    if (step.done) {
      const rest = stops.flush();
      if (rest) yield delta(rest);
      yield { type: "done", finishReason: step.value, usage: usage(generated) };
      return;
    }
    generated++;
    const piece = step.value;
    if (keep) pending.push({ ...piece, top_logprobs: piece.top_logprobs.slice(0, topCount) });
    const text = stops.push(piece.token);
    if (text) yield delta(text);
    if (stops.stopped) {
      yield { type: "done", finishReason: "stop", usage: usage(generated) };
      return;
    }
  }
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A tool call id drawn from the choice's PRNG, so that re-execution gives the same id. */
function base62(sampler: NgramSampler, length: number): string {
  let id = "";
  for (let i = 0; i < length; i++) id += BASE62[sampler.rng.below(62)];
  return id;
}
