import type { TrainingOptions } from "./train-ngram-model";

/**
 * The pruning of the committed `verity-ngram-1` model. Every word seen at least twice is
 * kept (about 34,700); n-grams seen once are dropped, which removes most of the table
 * while keeping every continuation the corpus attests more than once; and the 64 best
 * continuations of a word and 32 of a word pair bound the work per generated token.
 */
export const REFERENCE_TRAINING_OPTIONS: TrainingOptions = {
  minWordCount: 2,
  maxVocabulary: 40_000,
  minBigramCount: 2,
  minTrigramCount: 2,
  maxBigramContinuations: 64,
  maxTrigramContinuations: 32,
  unigramFallback: 64,
};
