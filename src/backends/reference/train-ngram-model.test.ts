import { describe, expect, it } from "vitest";
import { SENTENCE_START } from "./ngram-model";
import { costOf, type TrainingOptions, trainNgramModel } from "./train-ngram-model";

const OPTIONS: TrainingOptions = {
  minWordCount: 1,
  maxVocabulary: 100,
  minBigramCount: 1,
  minTrigramCount: 1,
  maxBigramContinuations: 10,
  maxTrigramContinuations: 10,
  unigramFallback: 3,
};

const SENTENCES = [
  ["the", "cat", "sat", "."],
  ["the", "cat", "ran", "."],
  ["the", "dog", "sat", "."],
  ["a", "dog", "ran", "."],
];

function continuations(
  model: ReturnType<typeof trainNgramModel>,
  start: number,
  end: number,
  next: Uint16Array,
  cost: Uint8Array,
) {
  const out: [string, number][] = [];
  for (let e = start; e < end; e++) out.push([model.vocab[next[e] ?? 0] ?? "", cost[e] ?? 0]);
  return out;
}

describe("trainNgramModel", () => {
  it("orders the vocabulary by frequency, then spelling, after <s>", () => {
    const model = trainNgramModel(SENTENCES, OPTIONS);
    expect(model.vocab).toEqual(["<s>", ".", "the", "cat", "dog", "ran", "sat", "a"]);
  });

  it("scores bigram continuations from the full counts of their context", () => {
    const model = trainNgramModel(SENTENCES, OPTIONS);
    const the = model.vocab.indexOf("the");
    // "the" is followed by cat twice and dog once: costs 16·log2(3/2) and 16·log2(3).
    expect(
      continuations(
        model,
        model.bigramStart[the] ?? 0,
        model.bigramStart[the + 1] ?? 0,
        model.bigramNext,
        model.bigramCost,
      ),
    ).toEqual([
      ["cat", 9],
      ["dog", 25],
    ]);
  });

  it("indexes trigram continuations by the bigram entry of their context", () => {
    const model = trainNgramModel(SENTENCES, OPTIONS);
    const the = model.vocab.indexOf("the");
    const start = model.bigramStart[the] ?? 0;
    const entry = start + [...model.bigramNext.subarray(start)].indexOf(model.vocab.indexOf("cat"));
    expect(
      continuations(
        model,
        model.trigramStart[entry] ?? 0,
        model.trigramStart[entry + 1] ?? 0,
        model.trigramNext,
        model.trigramCost,
      ),
    ).toEqual([
      ["ran", 16],
      ["sat", 16],
    ]);
    const sentenceStart = model.bigramStart[SENTENCE_START] ?? 0;
    expect(model.vocab[model.bigramNext[sentenceStart] ?? 0]).toBe("the");
  });

  it("prunes rare words and n-grams and caps the continuations per context", () => {
    const model = trainNgramModel(SENTENCES, {
      ...OPTIONS,
      minWordCount: 2,
      minBigramCount: 2,
      maxBigramContinuations: 1,
    });
    expect(model.vocab).not.toContain("a");
    const the = model.vocab.indexOf("the");
    expect((model.bigramStart[the + 1] ?? 0) - (model.bigramStart[the] ?? 0)).toBe(1);
    // The dropped "dog" still counts in the total: cat keeps cost 16·log2(3/2).
    expect(model.bigramCost[model.bigramStart[the] ?? 0]).toBe(9);
  });

  it("indexes every word once under its lower-cased spelling, most frequent id first", () => {
    const model = trainNgramModel(
      [
        ["The", "end", "."],
        ["the", "the", "end", "."],
      ],
      OPTIONS,
    );
    const indexed = [...model.wordIndex].map((id) => model.vocab[id]);
    expect(indexed).toEqual(["end", "the"]);
  });

  it("is deterministic for the same sentences", () => {
    expect(trainNgramModel(SENTENCES, OPTIONS)).toEqual(trainNgramModel(SENTENCES, OPTIONS));
  });
});

describe("costOf", () => {
  it("is round(16 · log2(total / count)), clamped to 255", () => {
    expect(costOf(1, 1)).toBe(0);
    expect(costOf(1, 2)).toBe(16);
    expect(costOf(2, 3)).toBe(9);
    expect(costOf(1, 2 ** 20)).toBe(255);
  });

  it("decides ratios within 1e-6 of a rounding boundary exactly", () => {
    // 16 · log2(56611467 / 13525) = 192.49999999999991136..., 16 · log2(26232565 / 7453) =
    // 188.49999999999895854... (computed to 60 digits): both must round down.
    expect(costOf(13525, 56611467)).toBe(192);
    expect(costOf(7453, 26232565)).toBe(188);
    expect(costOf(27050, 56611467)).toBe(176);
  });

  it("refuses impossible counts", () => {
    expect(() => costOf(0, 1)).toThrow(RangeError);
    expect(() => costOf(3, 2)).toThrow(RangeError);
  });
});
