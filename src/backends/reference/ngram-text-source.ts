import type { NgramModel } from "./ngram-model";
import { SENTENCE_START } from "./ngram-model";
import { type NgramSampler, repeatedTrigramEnds } from "./ngram-sampler";
import type { Piece, TextSource } from "./piece";
import { isWordToken } from "./tokenize";

/**
 * The words of generated JSON strings, from verity-ngram-1: a phrase opens with an unused
 * prompt keyword when one is left (so what the JSON says depends on the prompt), then
 * continues the trigram context with words only (punctuation and sentence ends are excluded,
 * so a word never needs escaping), without repeating a trigram of the phrase.
 */
export function ngramTextSource(model: NgramModel, sampler: NgramSampler): TextSource {
  let history: number[] = [SENTENCE_START];
  let w1 = -1;
  let w2 = SENTENCE_START;
  const notWord = (id: number) => !isWordToken(model.vocab[id] ?? "");
  const piece = (id: number): Piece => {
    const token = model.vocab[id] ?? "";
    const scores = sampler.last;
    if (!scores) return { token, logprob: 0, top_logprobs: [] };
    return {
      token,
      logprob: scores.chosen.logprob,
      top_logprobs: scores.ranked.map((s) => ({
        token: model.vocab[s.id] ?? "",
        logprob: s.logprob,
      })),
    };
  };
  return {
    startPhrase() {
      history = [SENTENCE_START];
      w1 = -1;
      w2 = SENTENCE_START;
    },
    word() {
      let next = w2 === SENTENCE_START ? sampler.pickKeyword() : undefined;
      if (next === undefined) {
        const repeats = repeatedTrigramEnds(history, w1, w2);
        next = sampler.pickContinuation(w1, w2, (id) => notWord(id) || repeats.includes(id));
        // Only when every candidate was excluded; the fallback word is then any word at all.
        if (notWord(next)) next = fallbackWord(model);
      }
      sampler.accept(next);
      history.push(next);
      w1 = w2;
      w2 = next;
      return piece(next);
    },
  };
}

/** The most frequent word of the model: ids are ordered by corpus frequency. */
function fallbackWord(model: NgramModel): number {
  for (let id = 1; id < model.vocab.length; id++) if (isWordToken(model.vocab[id] ?? "")) return id;
  return 1;
}
