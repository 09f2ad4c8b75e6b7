import { sha256, stringToBytes } from "viem";
import { describe, expect, it } from "vitest";
import { decodeNgramModel, encodeNgramModel, findWord } from "./ngram-model";
import { ENCODED_NGRAM_MODEL, NGRAM_MODEL_INFO } from "./ngram-model.generated";
import { trainNgramModel } from "./train-ngram-model";

const model = trainNgramModel(
  [
    ["The", "cat", "sat", "on", "the", "mat", "."],
    ["the", "dog", "sat", "on", "a", "log", "."],
    ["a", "cat", "ran", "?"],
  ],
  {
    minWordCount: 1,
    maxVocabulary: 100,
    minBigramCount: 1,
    minTrigramCount: 1,
    maxBigramContinuations: 8,
    maxTrigramContinuations: 8,
    unigramFallback: 4,
  },
);

describe("encodeNgramModel / decodeNgramModel", () => {
  it("round-trips every table", () => {
    const decoded = decodeNgramModel(encodeNgramModel(model));
    expect(decoded.vocab).toEqual(model.vocab);
    for (const key of [
      "unigramCosts",
      "bigramStart",
      "bigramNext",
      "bigramCost",
      "trigramStart",
      "trigramNext",
      "trigramCost",
      "wordIndex",
    ] as const) {
      expect([...decoded[key]], key).toEqual([...model[key]]);
    }
  });

  it("encodes the same model to the same bytes", () => {
    expect(encodeNgramModel(model)).toEqual(
      encodeNgramModel(decodeNgramModel(encodeNgramModel(model))),
    );
  });

  it("rejects tables that do not match the vocabulary", () => {
    const encoded = encodeNgramModel(model);
    expect(() => decodeNgramModel({ ...encoded, vocab: `${encoded.vocab}\nextra` })).toThrow(
      RangeError,
    );
    expect(() => decodeNgramModel({ ...encoded, tables: encoded.tables.slice(0, -8) })).toThrow(
      RangeError,
    );
  });
});

describe("findWord", () => {
  it("finds words case-insensitively, preferring the most frequent spelling", () => {
    expect(model.vocab[findWord(model, "THE") ?? -1]).toBe("the");
    expect(model.vocab[findWord(model, "Cat") ?? -1]).toBe("cat");
    expect(findWord(model, "zebra")).toBeUndefined();
    expect(findWord(model, ".")).toBeUndefined();
    expect(findWord(model, "<s>")).toBeUndefined();
  });
});

describe("the committed verity-ngram-1 model", () => {
  it("matches the digest and sizes recorded when it was built", () => {
    expect(
      sha256(stringToBytes(`${ENCODED_NGRAM_MODEL.vocab}\n\n${ENCODED_NGRAM_MODEL.tables}`)),
    ).toBe(NGRAM_MODEL_INFO.sha256);
    const committed = decodeNgramModel(ENCODED_NGRAM_MODEL);
    expect(committed.vocab.length).toBe(NGRAM_MODEL_INFO.vocabulary);
    expect(committed.bigramNext.length).toBe(NGRAM_MODEL_INFO.bigrams);
    expect(committed.trigramNext.length).toBe(NGRAM_MODEL_INFO.trigrams);
  });

  it("knows common English words and stays within its size budget", () => {
    const committed = decodeNgramModel(ENCODED_NGRAM_MODEL);
    for (const word of ["cat", "volcano", "bread", "music", "Paris"]) {
      expect(findWord(committed, word), word).toBeDefined();
    }
    const bytes = ENCODED_NGRAM_MODEL.vocab.length + ENCODED_NGRAM_MODEL.tables.length;
    expect(bytes).toBeLessThan(1.5 * 1024 * 1024);
  });
});
