// Test support: a small deterministic stand-in for the n-gram model's TextSource, so JSON
// decoding can be tested without the model. Different seeds stand in for different prompts.
import type { Piece, TextSource } from "../../src/backends/reference/piece";
import { Xoshiro128 } from "../../src/backends/reference/prng";

/** Words with the characters real ones may have: digits, `'`, `-` and Latin-1 letters. */
export const TEST_WORDS = [
  "river",
  "stone",
  "light",
  "quiet",
  "garden",
  "north",
  "x",
  "a",
  "self-made",
  "don't",
  "café",
  "Ωmega",
  "b52",
  "timber",
  "lantern",
  "Copper",
  "extraordinarily-long-compound-word",
  "I",
] as const;

export interface WordSource extends TextSource {
  /** How many times `startPhrase` and `word` were called. */
  readonly phrases: number;
  readonly words: number;
}

/**
 * A TextSource drawing words uniformly from `words` with its own xoshiro128** seeded by
 * `seed`; each piece gets a made-up logprob in [−8, −0.1] and two alternatives, most likely
 * first, like the model's pieces.
 */
export function wordSource(seed: number, words: readonly string[] = TEST_WORDS): WordSource {
  const rng = Xoshiro128.fromSeedWords([seed >>> 0, 0x5eed]);
  let phrases = 0;
  let count = 0;
  const pick = () => words[rng.below(words.length)] ?? "word";
  return {
    get phrases() {
      return phrases;
    },
    get words() {
      return count;
    },
    startPhrase() {
      phrases++;
    },
    word(): Piece {
      count++;
      const token = pick();
      const logprob = -(1 + rng.below(80)) / 10;
      const better = { token: pick(), logprob: logprob / 2 };
      const worse = { token: pick(), logprob: logprob - 1 };
      return { token, logprob, top_logprobs: [better, { token, logprob }, worse] };
    },
  };
}
