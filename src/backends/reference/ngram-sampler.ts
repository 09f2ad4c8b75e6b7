import { canonicalJson } from "@verity/protocol/canonical";
import type { ChatMessage } from "@verity/protocol/request";
import type { ChatInput } from "../backend";
import { chooseCandidate, type Decoding, decodingOf, MAX_CANDIDATES } from "./choose-candidate";
import { fnv1a32 } from "./fnv1a32";
import type { NgramModel } from "./ngram-model";
import { Xoshiro128 } from "./prng";
import { keywordBonuses, promptKeywords } from "./prompt-keywords";

/** Stupid backoff's α = 0.4, as a cost: round(16 · log2(1 / 0.4)) = 21, so α ≈ 0.403. */
export const BACKOFF_COST = 21;
/** A logit change of one nat is this many cost units (1/16 bit): 16 / ln 2. */
export const COST_PER_NAT = 23.083120654223414;
/** The cost of a word outside the unigram fallback list: the largest cost a table holds. */
export const UNSEEN_COST = 255;
/** A `logit_bias` at or below this bans the token, as OpenAI's −100 does. */
export const BAN_BIAS = -100;

export type SamplingRequest = Pick<
  ChatInput,
  | "messages"
  | "temperature"
  | "top_p"
  | "seed"
  | "frequency_penalty"
  | "presence_penalty"
  | "logit_bias"
>;

/** A candidate's natural-log probability under the model's distribution at one step. */
export interface ScoredToken {
  id: number;
  logprob: number;
}

/** What the last pick chose among, when the sampler was asked to keep scores. */
export interface StepScores {
  chosen: ScoredToken;
  /** Every candidate, most likely first (ties by id). */
  ranked: ScoredToken[];
}

/**
 * The state of one verity-ngram-1 generation and its picks, shared by free text
 * (`generateTokens`) and the words of generated JSON strings (`ngramTextSource`).
 *
 * Randomness: xoshiro128** seeded with the words (seed mod 2^32, the choice index, FNV-1a of
 * the conversation), where the conversation is hashed as role + "\n" + content + "\n" per
 * message, followed, for a message that has them, by the canonical JSON of its `tool_calls`
 * and its `tool_call_id` + "\n". Choice 0 thus draws exactly what it drew before `n` existed
 * (the second word was floor(seed / 2^32), always 0 for a uint32 seed). The PRNG is used only
 * when temperature > 0, and by JSON decoding for the choices a schema leaves open.
 *
 * Adjustments, applied after the keyword bonuses and only when the request sets them: token
 * `t` that was generated `c` times gets the logit change Δ = bias(t) − c · frequency_penalty −
 * (c > 0 ? presence_penalty : 0), so its cost changes by −round(Δ · 16 / ln 2). A token with a
 * positive bias that is not a candidate joins the candidates at its unigram cost (UNSEEN_COST
 * for a word outside the fallback list) + 2 · BACKOFF_COST; a token with bias ≤ −100 is excluded like a repeated trigram, so it is
 * chosen only if nothing else is left.
 */
export class NgramSampler {
  readonly rng: Xoshiro128;
  readonly decoding: Decoding;
  /** Keywords of the prompt not used yet (rarest first when greedy). */
  readonly keywords: number[];
  readonly bonus: Map<number, number>;
  /** The scores of the last pick, when constructed with `keepScores`. */
  last: StepScores | undefined;

  readonly #model: NgramModel;
  readonly #request: SamplingRequest;
  readonly #keepScores: boolean;
  readonly #counts = new Map<number, number>();
  readonly #bias = new Map<number, number>();
  readonly #adjusted: boolean;
  readonly #ids = new Int32Array(MAX_CANDIDATES);
  readonly #costs = new Int32Array(MAX_CANDIDATES);

  constructor(model: NgramModel, request: SamplingRequest, choice = 0, keepScores = false) {
    this.#model = model;
    this.#request = request;
    this.#keepScores = keepScores;
    this.decoding = decodingOf(request.temperature, request.top_p);
    this.rng = Xoshiro128.fromSeedWords([
      request.seed >>> 0,
      choice >>> 0,
      conversationHash(request.messages),
    ]);
    for (const [key, bias] of Object.entries(request.logit_bias ?? {})) {
      if (bias !== 0) this.#bias.set(Number(key), bias);
    }
    this.#adjusted =
      this.#bias.size > 0 || !!request.frequency_penalty || !!request.presence_penalty;
    this.keywords = promptKeywords(model, request.messages).filter((id) => !this.#banned(id));
    this.bonus = keywordBonuses(model, this.keywords);
    if (this.decoding.temperatureMilli === 0) this.keywords.sort((a, b) => b - a);
  }

  /** Takes an unused keyword to open a sentence or phrase: the rarest when greedy, else uniformly. */
  pickKeyword(): number | undefined {
    const count = this.keywords.length;
    if (count === 0) return undefined;
    const pick = this.decoding.temperatureMilli === 0 ? 0 : this.rng.below(count);
    const id = this.keywords.splice(pick, 1)[0];
    if (this.#keepScores && id !== undefined) {
      // The choice among keywords is uniform, whichever one greedy decoding takes.
      const logprob = -Math.log(count);
      this.last = { chosen: { id, logprob }, ranked: [{ id, logprob }] };
    }
    return id;
  }

  /**
   * Picks a continuation of the context (w1, w2): the stupid-backoff candidates, those for
   * which `excluded` holds (or that are banned) dropped, the unigram fallback added if that
   * drops them all, all kept if still none is left; then bonuses and adjustments, then
   * `chooseCandidate`.
   */
  pickContinuation(w1: number, w2: number, excluded: (id: number) => boolean): number {
    const model = this.#model;
    const ids = this.#ids;
    const costs = this.#costs;
    const isOut = this.#bias.size > 0 ? (id: number) => excluded(id) || this.#banned(id) : excluded;
    let count = scoreContinuations(model, w1, w2, ids, costs);
    if (this.#bias.size > 0) count = this.#addFavoured(count);
    let open = moveExcludedLast(ids, costs, count, isOut);
    if (open === 0) {
      count = addUnigramFallback(model, ids, costs, count);
      open = moveExcludedLast(ids, costs, count, isOut);
    }
    if (open === 0) open = count;
    if (this.bonus.size > 0) {
      for (let i = 0; i < open; i++)
        costs[i] = (costs[i] ?? 0) - (this.bonus.get(ids[i] ?? 0) ?? 0);
    }
    if (this.#adjusted) {
      for (let i = 0; i < open; i++) costs[i] = (costs[i] ?? 0) - this.#adjustment(ids[i] ?? 0);
    }
    const next = chooseCandidate(ids, costs, open, this.decoding, this.rng);
    if (this.#keepScores) this.last = scoresOf(ids, costs, open, next);
    return next;
  }

  /** Records that `id` was generated: its bonus is spent, its keyword used, its count raised. */
  accept(id: number): void {
    this.bonus.delete(id);
    const index = this.keywords.indexOf(id);
    if (index >= 0) this.keywords.splice(index, 1);
    if (this.#adjusted) this.#counts.set(id, (this.#counts.get(id) ?? 0) + 1);
  }

  #banned(id: number): boolean {
    return (this.#bias.get(id) ?? 0) <= BAN_BIAS;
  }

  #adjustment(id: number): number {
    const count = this.#counts.get(id) ?? 0;
    const request = this.#request;
    const delta =
      (this.#bias.get(id) ?? 0) -
      count * (request.frequency_penalty ?? 0) -
      (count > 0 ? (request.presence_penalty ?? 0) : 0);
    return delta === 0 ? 0 : Math.round(delta * COST_PER_NAT);
  }

  #addFavoured(count: number): number {
    let total = count;
    for (const [id, bias] of this.#bias) {
      if (bias <= 0 || total >= MAX_CANDIDATES || id < 1 || id >= this.#model.vocab.length)
        continue;
      if (this.#ids.subarray(0, total).includes(id)) continue;
      this.#ids[total] = id;
      this.#costs[total] = (this.#model.unigramCosts[id - 1] ?? UNSEEN_COST) + 2 * BACKOFF_COST;
      total++;
    }
    return total;
  }
}

/**
 * The distribution at one step, as `logprobs` reports it: candidate i has probability
 * 2^(−cost_i / 16) / Σ_j 2^(−cost_j / 16), the model's own distribution after bonuses and
 * adjustments and before temperature and top_p, which only change how it is sampled.
 */
function scoresOf(ids: Int32Array, costs: Int32Array, count: number, chosen: number): StepScores {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < count; i++) min = Math.min(min, costs[i] ?? 0);
  let sum = 0;
  for (let i = 0; i < count; i++) sum += 2 ** (-((costs[i] ?? 0) - min) / 16);
  const logSum = Math.log(sum);
  const ranked: ScoredToken[] = [];
  for (let i = 0; i < count; i++) {
    const logprob = -(((costs[i] ?? 0) - min) / 16) * Math.LN2 - logSum;
    ranked.push({ id: ids[i] ?? 0, logprob: Math.min(0, logprob) });
  }
  ranked.sort((a, b) => b.logprob - a.logprob || a.id - b.id);
  const found = ranked.find((token) => token.id === chosen) ?? { id: chosen, logprob: 0 };
  return { chosen: found, ranked };
}

/** The tokens that followed (w1, w2) earlier in `history`: taking one again repeats a trigram. */
export function repeatedTrigramEnds(history: readonly number[], w1: number, w2: number): number[] {
  const ends: number[] = [];
  if (w1 < 0) return ends;
  for (let i = 0; i + 2 < history.length; i++) {
    if (history[i] === w1 && history[i + 1] === w2) ends.push(history[i + 2] ?? 0);
  }
  return ends;
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
  for (const message of messages) {
    hash = fnv1a32(`${message.role}\n${message.content}\n`, hash);
    if (message.tool_calls) hash = fnv1a32(canonicalJson(message.tool_calls), hash);
    if (message.tool_call_id) hash = fnv1a32(`${message.tool_call_id}\n`, hash);
  }
  return hash ?? fnv1a32("");
}
