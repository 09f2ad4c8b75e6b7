import type { ChatMessage } from "@verity/protocol/request";
import type { ChatInput, FinishReason } from "../backend";
import { chooseCandidate, decodingOf, MAX_CANDIDATES } from "./choose-candidate";
import { SENTENCE_END_TOKENS } from "./corpus";
import { fnv1a32 } from "./fnv1a32";
import { type NgramModel, SENTENCE_START } from "./ngram-model";
import { Xoshiro128 } from "./prng";
import { keywordBonuses, promptKeywords } from "./prompt-keywords";

/** Stupid backoff's α = 0.4, as a cost: round(16 · log2(1 / 0.4)) = 21, so α ≈ 0.403. */
export const BACKOFF_COST = 21;
/** The reply ends at the first sentence end once it has at least this many tokens. */
export const MIN_REPLY_TOKENS = 16;
/** A sentence cannot end before it has this many tokens (its end mark excluded). */
export const MIN_SENTENCE_WORDS = 3;
/** At most this many sentences start with a prompt keyword. */
export const MAX_KEYWORD_SENTENCES = 3;

export type GenerationRequest = Pick<
  ChatInput,
  "messages" | "temperature" | "top_p" | "max_tokens" | "seed"
>;

/**
 * Generates the reply of verity-ngram-1 to a conversation, one token id per step, and
 * returns why it stopped. Deterministic: the same model and request give the same ids.
 *
 * Conditioning: the keywords of the conversation (`promptKeywords`). Each of the first
 * MAX_KEYWORD_SENTENCES sentences starts with a keyword not used yet (the rarest first when
 * greedy; drawn uniformly with the PRNG when sampling). Keywords and related words get their
 * `keywordBonuses` subtracted from their cost until they appear in the reply.
 *
 * Each step scores the continuations of the context (w1, w2) with stupid backoff: trigram
 * continuations at their cost, bigram continuations of w2 not among them at cost +
 * BACKOFF_COST, and only if both are empty the unigram fallback at + 2 · BACKOFF_COST.
 * A continuation that would repeat a trigram of the reply, or end a sentence of fewer than
 * MIN_SENTENCE_WORDS tokens, is dropped; if that drops them all, the unigram fallback words
 * not already candidates are added (at + 2 · BACKOFF_COST) and the same rule applied; if
 * still none is left, all are kept. Then the bonuses are subtracted and the token is picked
 * by `chooseCandidate`.
 *
 * Ending: a sentence ends at ".", "?" or "!"; the reply ends with "stop" at the first
 * sentence end once it has MIN_REPLY_TOKENS tokens, otherwise a new sentence starts.
 * It ends with "length" after `max_tokens` tokens unless that token ended the reply.
 *
 * Randomness: xoshiro128** seeded with the words (seed mod 2^32, floor(seed / 2^32) mod
 * 2^32, FNV-1a of the conversation), where the conversation is hashed as
 * role + "\n" + content + "\n" per message. It is used only when temperature > 0.
 */
export function* generateTokens(
  model: NgramModel,
  request: GenerationRequest,
): Generator<number, FinishReason, undefined> {
  const decoding = decodingOf(request.temperature, request.top_p);
  const rng = Xoshiro128.fromSeedWords([
    request.seed >>> 0,
    Math.floor(request.seed / 0x100000000) >>> 0,
    conversationHash(request.messages),
  ]);
  const keywords = promptKeywords(model, request.messages);
  const bonus = keywordBonuses(model, keywords);
  if (decoding.temperatureMilli === 0) keywords.sort((a, b) => b - a);

  const ids = new Int32Array(MAX_CANDIDATES);
  const costs = new Int32Array(MAX_CANDIDATES);
  const history: number[] = [SENTENCE_START];
  let w1 = -1;
  let w2 = SENTENCE_START;
  let sentences = 0;
  let sentenceWords = 0;
  for (let generated = 0; generated < request.max_tokens; ) {
    let next: number;
    if (w2 === SENTENCE_START && keywords.length > 0 && sentences < MAX_KEYWORD_SENTENCES) {
      const pick = decoding.temperatureMilli === 0 ? 0 : rng.below(keywords.length);
      next = keywords.splice(pick, 1)[0] ?? SENTENCE_START;
    } else {
      const repeats = repeatedTrigramEnds(history, w1, w2);
      const excluded = (id: number) =>
        repeats.includes(id) || (sentenceWords < MIN_SENTENCE_WORDS && isSentenceEnd(model, id));
      let count = scoreContinuations(model, w1, w2, ids, costs);
      let open = moveExcludedLast(ids, costs, count, excluded);
      if (open === 0) {
        count = addUnigramFallback(model, ids, costs, count);
        open = moveExcludedLast(ids, costs, count, excluded);
      }
      if (open === 0) open = count;
      if (bonus.size > 0) {
        for (let i = 0; i < open; i++) costs[i] = (costs[i] ?? 0) - (bonus.get(ids[i] ?? 0) ?? 0);
      }
      next = chooseCandidate(ids, costs, open, decoding, rng);
    }
    generated++;
    history.push(next);
    bonus.delete(next);
    const index = keywords.indexOf(next);
    if (index >= 0) keywords.splice(index, 1);
    yield next;

    if (isSentenceEnd(model, next)) {
      if (generated >= MIN_REPLY_TOKENS) return "stop";
      history.push(SENTENCE_START);
      sentences++;
      sentenceWords = 0;
      w1 = -1;
      w2 = SENTENCE_START;
    } else {
      sentenceWords++;
      w1 = w2;
      w2 = next;
    }
  }
  return "length";
}

function isSentenceEnd(model: NgramModel, id: number): boolean {
  return SENTENCE_END_TOKENS.includes(model.vocab[id] ?? "");
}

/** Fills ids/costs with the stupid-backoff continuations of (w1, w2); returns how many. */
function scoreContinuations(
  model: NgramModel,
  w1: number,
  w2: number,
  ids: Int32Array,
  costs: Int32Array,
): number {
  let count = 0;
  let triStart = 0;
  let triEnd = 0;
  if (w1 >= 0) {
    const end = model.bigramStart[w1 + 1] ?? 0;
    for (let e = model.bigramStart[w1] ?? 0; e < end; e++) {
      if (model.bigramNext[e] === w2) {
        triStart = model.trigramStart[e] ?? 0;
        triEnd = model.trigramStart[e + 1] ?? 0;
        break;
      }
    }
  }
  triEnd = Math.min(triEnd, triStart + MAX_CANDIDATES);
  for (let t = triStart; t < triEnd; t++, count++) {
    ids[count] = model.trigramNext[t] ?? 0;
    costs[count] = model.trigramCost[t] ?? 0;
  }
  const end = model.bigramStart[w2 + 1] ?? 0;
  outer: for (let e = model.bigramStart[w2] ?? 0; e < end && count < MAX_CANDIDATES; e++) {
    const id = model.bigramNext[e] ?? 0;
    for (let t = triStart; t < triEnd; t++) if (model.trigramNext[t] === id) continue outer;
    ids[count] = id;
    costs[count] = (model.bigramCost[e] ?? 0) + BACKOFF_COST;
    count++;
  }
  return count === 0 ? addUnigramFallback(model, ids, costs, 0) : count;
}

/** Appends the unigram fallback words not yet among the candidates, at + 2 · BACKOFF_COST. */
function addUnigramFallback(
  model: NgramModel,
  ids: Int32Array,
  costs: Int32Array,
  count: number,
): number {
  let total = count;
  for (let i = 0; i < model.unigramCosts.length && total < MAX_CANDIDATES; i++) {
    const id = i + 1;
    if (ids.subarray(0, count).includes(id)) continue;
    ids[total] = id;
    costs[total] = (model.unigramCosts[i] ?? 0) + 2 * BACKOFF_COST;
    total++;
  }
  return total;
}

/** The tokens that followed (w1, w2) earlier in the reply: taking one again repeats a trigram. */
function repeatedTrigramEnds(history: readonly number[], w1: number, w2: number): number[] {
  const ends: number[] = [];
  if (w1 < 0) return ends;
  for (let i = 0; i + 2 < history.length; i++) {
    if (history[i] === w1 && history[i + 1] === w2) ends.push(history[i + 2] ?? 0);
  }
  return ends;
}

/** Moves the candidates for which `excluded` holds behind the others; returns how many others. */
function moveExcludedLast(
  ids: Int32Array,
  costs: Int32Array,
  count: number,
  excluded: (id: number) => boolean,
): number {
  let open = 0;
  for (let i = 0; i < count; i++) {
    const id = ids[i] ?? 0;
    if (excluded(id)) continue;
    const cost = costs[i] ?? 0;
    ids[i] = ids[open] ?? 0;
    costs[i] = costs[open] ?? 0;
    ids[open] = id;
    costs[open] = cost;
    open++;
  }
  return open;
}

function conversationHash(messages: readonly ChatMessage[]): number {
  let hash: number | undefined;
  for (const message of messages) hash = fnv1a32(`${message.role}\n${message.content}\n`, hash);
  return hash ?? fnv1a32("");
}
