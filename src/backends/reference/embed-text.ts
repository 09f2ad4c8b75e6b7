import { fnv1a32 } from "./fnv1a32";
import { asciiLowerCase, isWordToken, tokenize } from "./tokenize";

/** The dimension of verity-embed-1 vectors. */
export const EMBEDDING_DIMENSIONS = 384;
/** Feature weights: whole words count most, word pairs and character trigrams less. */
export const WORD_WEIGHT = 4;
export const WORD_PAIR_WEIGHT = 2;
export const CHAR_TRIGRAM_WEIGHT = 1;

/**
 * The verity-embed-1 embedding of `text`: a hashed bag of features, L2-normalised.
 *
 * The text is ASCII-lower-cased and tokenized (`tokenize`); punctuation is dropped. The
 * features are every word ("w:" + word, weight 4), every pair of adjacent words
 * ("b:" + word + " " + next, weight 2) and every trigram of code points of
 * "<" + word + ">" ("c:" + trigram, weight 1). Feature f with h = FNV-1a-32(f) adds
 * ±weight to component h mod 384, with the sign + when the murmur3 finaliser of h
 * (h ^= h >>> 16; h ·= 0x85EBCA6B; h ^= h >>> 13; h ·= 0xC2B2AE35; h ^= h >>> 16) is even.
 * Sums are integers; the vector is divided by the square root of its integer squared norm,
 * both IEEE-754 correctly rounded, so the result is the same bits on every engine. A text
 * without words embeds as the zero vector.
 *
 * With `dimensions` below 384 (OpenAI's `dimensions` parameter), the integer sums are cut to
 * their first `dimensions` components before normalising: the documented truncation followed
 * by re-normalisation, done on the exact sums so it too is the same bits everywhere.
 */
export function embedText(text: string, dimensions = EMBEDDING_DIMENSIONS): number[] {
  const sums = new Int32Array(EMBEDDING_DIMENSIONS);
  const add = (feature: string, weight: number) => {
    const h = fnv1a32(feature);
    sums[h % EMBEDDING_DIMENSIONS] =
      (sums[h % EMBEDDING_DIMENSIONS] ?? 0) + ((finalize(h) & 1) === 0 ? weight : -weight);
  };
  const words = tokenize(asciiLowerCase(text)).filter(isWordToken);
  words.forEach((word, i) => {
    add(`w:${word}`, WORD_WEIGHT);
    const next = words[i + 1];
    if (next !== undefined) add(`b:${word} ${next}`, WORD_PAIR_WEIGHT);
    const chars = Array.from(`<${word}>`);
    for (let c = 0; c + 3 <= chars.length; c++) {
      add(`c:${chars[c]}${chars[c + 1]}${chars[c + 2]}`, CHAR_TRIGRAM_WEIGHT);
    }
  });
  const kept = sums.subarray(0, Math.min(dimensions, EMBEDDING_DIMENSIONS));
  let squares = 0;
  for (const sum of kept) squares += sum * sum;
  if (squares === 0) return Array.from(kept);
  const norm = Math.sqrt(squares);
  return Array.from(kept, (sum) => sum / norm);
}

function finalize(hash: number): number {
  let h = hash;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
