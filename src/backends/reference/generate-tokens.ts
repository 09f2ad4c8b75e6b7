import type { ChatInput, FinishReason } from "../backend";
import { SENTENCE_END_TOKENS } from "./corpus";
import { type NgramModel, SENTENCE_START } from "./ngram-model";
import { NgramSampler, repeatedTrigramEnds, type SamplingRequest } from "./ngram-sampler";

/** The reply ends at the first sentence end once it has at least this many tokens. */
export const MIN_REPLY_TOKENS = 16;
/** A sentence cannot end before it has this many tokens (its end mark excluded). */
export const MIN_SENTENCE_WORDS = 3;
/** At most this many sentences start with a prompt keyword. */
export const MAX_KEYWORD_SENTENCES = 3;

export type GenerationRequest = SamplingRequest & Pick<ChatInput, "max_tokens">;

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
 * still none is left, all are kept. Then the bonuses (and the request's penalties and
 * `logit_bias`, see `NgramSampler`) are subtracted and the token is picked by `chooseCandidate`.
 *
 * Ending: a sentence ends at ".", "?" or "!"; the reply ends with "stop" at the first
 * sentence end once it has MIN_REPLY_TOKENS tokens, otherwise a new sentence starts.
 * It ends with "length" after `max_tokens` tokens unless that token ended the reply.
 *
 * Randomness: the sampler's PRNG (see `NgramSampler`), used only when temperature > 0.
 */
export function* generateTokens(
  model: NgramModel,
  request: GenerationRequest,
  sampler = new NgramSampler(model, request),
): Generator<number, FinishReason, undefined> {
  const history: number[] = [SENTENCE_START];
  let w1 = -1;
  let w2 = SENTENCE_START;
  let sentences = 0;
  let sentenceWords = 0;
  for (let generated = 0; generated < request.max_tokens; ) {
    let next: number | undefined;
    if (w2 === SENTENCE_START && sentences < MAX_KEYWORD_SENTENCES) next = sampler.pickKeyword();
    if (next === undefined) {
      const repeats = repeatedTrigramEnds(history, w1, w2);
      next = sampler.pickContinuation(
        w1,
        w2,
        (id) =>
          repeats.includes(id) || (sentenceWords < MIN_SENTENCE_WORDS && isSentenceEnd(model, id)),
      );
    }
    generated++;
    history.push(next);
    sampler.accept(next);
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
