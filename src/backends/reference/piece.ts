import type { ChosenTokenLogprob } from "@verity/protocol/response";

/**
 * One generated token of verity-ngram-1 as it leaves the generator: the text it adds to the
 * answer, its natural-log probability under the model's distribution at that step, and the
 * likeliest alternatives (most likely first, the chosen one among them when it is likely
 * enough), in the shape `logprobs` reports.
 */
export type Piece = ChosenTokenLogprob;

/** A token that had no alternative: JSON punctuation the schema forces, for example. */
export const forcedPiece = (text: string): Piece => ({
  token: text,
  logprob: 0,
  top_logprobs: [{ token: text, logprob: 0 }],
});

/**
 * Where the words of generated strings come from. The reference backend implements it over the
 * n-gram model, leaning on the prompt's keywords, so that generated JSON depends on the prompt.
 */
export interface TextSource {
  /** Starts a new phrase: the next `word` is a phrase's first. */
  startPhrase(): void;
  /**
   * The next word of the current phrase, without a leading space: letters, digits, `'` and `-`
   * only, never punctuation, so it needs no JSON escaping.
   */
  word(): Piece;
}
