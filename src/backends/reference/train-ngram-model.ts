import { type NgramModel, SENTENCE_START } from "./ngram-model";
import { asciiLowerCase, isWordToken } from "./tokenize";

/** How the corpus is pruned into a model small enough to ship inside a worker. */
export interface TrainingOptions {
  /** Words seen fewer times are left out of the vocabulary. */
  minWordCount: number;
  /** At most this many words (plus `<s>`), the most frequent first. */
  maxVocabulary: number;
  /** Bigrams and trigrams seen fewer times are dropped. */
  minBigramCount: number;
  minTrigramCount: number;
  /** At most this many continuations are kept per one-word and per two-word context. */
  maxBigramContinuations: number;
  maxTrigramContinuations: number;
  /** How many of the most frequent words serve as the unigram fallback. */
  unigramFallback: number;
}

/**
 * Counts the unigrams, bigrams and trigrams of `sentences` (each is preceded by `<s>`)
 * and keeps the most frequent continuations of each context.
 *
 * Probabilities come from the full counts, before pruning: a trigram's is
 * c(w1 w2 w3) / c(w1 w2 ·), a bigram's c(w1 w2) / c(w1 ·), a unigram's c(w) / N, where
 * out-of-vocabulary words count in the totals but are never kept. So pruned mass is not
 * redistributed, which is what stupid backoff expects. Trigram contexts exist only for
 * (w1, w2) pairs whose bigram was kept. Ties are broken by id, so the result depends
 * only on the sentences and the options.
 */
export function trainNgramModel(
  sentences: readonly string[][],
  options: TrainingOptions,
): NgramModel {
  const wordCounts = new Map<string, number>();
  for (const sentence of sentences) {
    for (const token of sentence) wordCounts.set(token, (wordCounts.get(token) ?? 0) + 1);
  }
  const ranked = [...wordCounts]
    .filter(([, count]) => count >= options.minWordCount)
    .sort(([a, ca], [b, cb]) => cb - ca || compareStrings(a, b))
    .slice(0, options.maxVocabulary);
  const vocab = ["<s>", ...ranked.map(([token]) => token)];
  if (vocab.length > 0x10000) throw new RangeError("vocabulary exceeds 16-bit ids");
  const ids = new Map(vocab.map((token, id) => [token, id]));
  const size = vocab.length;

  const OUT = -1;
  let totalTokens = 0;
  const unigram = new Float64Array(size);
  const contextTotal1 = new Float64Array(size);
  const bigram = new Map<number, number>();
  const contextTotal2 = new Map<number, number>();
  const trigram = new Map<number, number>();
  const add = (map: Map<number, number>, key: number) => map.set(key, (map.get(key) ?? 0) + 1);
  for (const sentence of sentences) {
    let w1 = OUT;
    let w2 = SENTENCE_START;
    for (const token of sentence) {
      const w3 = ids.get(token) ?? OUT;
      totalTokens++;
      if (w3 !== OUT) unigram[w3] = (unigram[w3] ?? 0) + 1;
      if (w2 !== OUT) {
        contextTotal1[w2] = (contextTotal1[w2] ?? 0) + 1;
        if (w3 !== OUT) add(bigram, w2 * size + w3);
        if (w1 !== OUT) {
          add(contextTotal2, w1 * size + w2);
          if (w3 !== OUT) add(trigram, (w1 * size + w2) * size + w3);
        }
      }
      w1 = w2;
      w2 = w3;
    }
  }

  const bigramLists = groupByContext(bigram, size, options.minBigramCount);
  const trigramLists = groupByContext(trigram, size, options.minTrigramCount);

  const bigramStart = new Uint32Array(size + 1);
  const bigramNext: number[] = [];
  const bigramCost: number[] = [];
  const trigramStart: number[] = [0];
  const trigramNext: number[] = [];
  const trigramCost: number[] = [];
  for (let w1 = 0; w1 < size; w1++) {
    const kept = topContinuations(
      bigramLists.get(w1) ?? [],
      contextTotal1[w1] ?? 0,
      options.maxBigramContinuations,
    );
    for (const [w2, cost] of kept) {
      bigramNext.push(w2);
      bigramCost.push(cost);
      const context = w1 * size + w2;
      const next = topContinuations(
        trigramLists.get(context) ?? [],
        contextTotal2.get(context) ?? 0,
        options.maxTrigramContinuations,
      );
      for (const [w3, c] of next) {
        trigramNext.push(w3);
        trigramCost.push(c);
      }
      trigramStart.push(trigramNext.length);
    }
    bigramStart[w1 + 1] = bigramNext.length;
  }

  const unigramCosts: number[] = [];
  for (let id = 1; id <= Math.min(options.unigramFallback, size - 1); id++) {
    unigramCosts.push(costOf(unigram[id] ?? 0, totalTokens));
  }

  const spellings = new Map<string, number>();
  vocab.forEach((token, id) => {
    const key = asciiLowerCase(token);
    if (id !== SENTENCE_START && isWordToken(token) && !spellings.has(key)) spellings.set(key, id);
  });
  const wordIndex = [...spellings].sort(([a], [b]) => compareStrings(a, b)).map(([, id]) => id);

  return {
    vocab,
    wordIndex: Uint16Array.from(wordIndex),
    unigramCosts: Uint8Array.from(unigramCosts),
    bigramStart,
    bigramNext: Uint16Array.from(bigramNext),
    bigramCost: Uint8Array.from(bigramCost),
    trigramStart: Uint32Array.from(trigramStart),
    trigramNext: Uint16Array.from(trigramNext),
    trigramCost: Uint8Array.from(trigramCost),
  };
}

/** Groups `context * size + next` counts by context, dropping those under `minCount`. */
function groupByContext(
  counts: Map<number, number>,
  size: number,
  minCount: number,
): Map<number, [next: number, count: number][]> {
  const lists = new Map<number, [number, number][]>();
  for (const [key, count] of counts) {
    if (count < minCount) continue;
    const next = key % size;
    const context = (key - next) / size;
    const list = lists.get(context);
    if (list) list.push([next, count]);
    else lists.set(context, [[next, count]]);
  }
  return lists;
}

function topContinuations(
  list: [next: number, count: number][],
  total: number,
  max: number,
): [next: number, cost: number][] {
  return list
    .sort(([a, ca], [b, cb]) => cb - ca || a - b)
    .slice(0, max)
    .map(([next, count]) => [next, costOf(count, total)]);
}

/**
 * round(16 · log2(total / count)), clamped to 0..255. `Math.log2` is only trusted away
 * from a rounding boundary; near one, the boundary is decided exactly with integers
 * (total / count ≥ 2^((2k + 1) / 32) ⇔ total^32 ≥ count^32 · 2^(2k + 1)), so the committed
 * model does not depend on the last bit of the build machine's logarithm.
 */
export function costOf(count: number, total: number): number {
  if (count <= 0 || total < count) throw new RangeError(`bad count ${count}/${total}`);
  const exact = 16 * Math.log2(total / count);
  const floor = Math.floor(exact);
  let cost = Math.round(exact);
  if (Math.abs(exact - floor - 0.5) < 1e-6) {
    const lhs = BigInt(total) ** 32n;
    const rhs = BigInt(count) ** 32n * 2n ** BigInt(2 * floor + 1);
    cost = lhs >= rhs ? floor + 1 : floor;
  }
  return Math.min(255, cost);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
