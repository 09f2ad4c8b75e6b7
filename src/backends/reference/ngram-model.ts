import { asciiLowerCase } from "./tokenize";

/**
 * The reference n-gram model in the form the generator reads: word ids, and for every
 * context a short list of continuations with their cost.
 *
 * A cost is −log2 of a conditional probability in 1/16 bit units, rounded to the nearest
 * integer and clamped to 0..255, so costs are small integers and the generator never
 * needs floating point. Continuation lists are ordered by cost, then by id.
 */
export interface NgramModel {
  /** Token by id. Id 0 is `<s>`, the start of a sentence; the others are ordered by corpus frequency. */
  vocab: string[];
  /** Costs of ids 1..unigramCosts.length, the fallback when a context has no continuation. */
  unigramCosts: Uint8Array;
  /** Continuations of the one-word context w are `bigramNext[bigramStart[w] .. bigramStart[w + 1])`. */
  bigramStart: Uint32Array;
  bigramNext: Uint16Array;
  bigramCost: Uint8Array;
  /**
   * Continuations of the two-word context (w, bigramNext[e]) for a bigram entry e are
   * `trigramNext[trigramStart[e] .. trigramStart[e + 1])`.
   */
  trigramStart: Uint32Array;
  trigramNext: Uint16Array;
  trigramCost: Uint8Array;
  /**
   * The ids of the words, one per ASCII-lower-cased spelling (its most frequent id), sorted
   * by that spelling in UTF-16 code unit order: `findWord` searches it.
   */
  wordIndex: Uint16Array;
}

/** The id of `<s>`, which starts every sentence and is never generated. */
export const SENTENCE_START = 0;

/** The model as it is committed: the vocabulary joined by "\n" and the tables as base64. */
export interface EncodedNgramModel {
  vocab: string;
  tables: string;
}

/**
 * The id of `word` (ASCII-case-insensitively; its most frequent spelling), or undefined
 * when the model does not know it. A binary search, so no index has to be built at load.
 */
export function findWord(model: NgramModel, word: string): number | undefined {
  const key = asciiLowerCase(word);
  let low = 0;
  let high = model.wordIndex.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const id = model.wordIndex[middle] ?? 0;
    const candidate = asciiLowerCase(model.vocab[id] ?? "");
    if (candidate === key) return id;
    if (candidate < key) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
}

const HEADER_BYTES = 20;

/**
 * Serialises the tables as little-endian bytes: a header of five u32 (vocabulary size,
 * bigram entries, trigram entries, unigram fallbacks, word index entries); the u16
 * sections bigram ids, trigram ids, word index; then the u8 sections: bigram count per word,
 * bigram costs, trigram count per bigram entry, trigram costs, unigram costs. The u16
 * sections come first so that they are 2-byte aligned and can be viewed in place.
 */
export function encodeNgramModel(model: NgramModel): EncodedNgramModel {
  const words = model.vocab.length;
  const bigrams = model.bigramNext.length;
  const trigrams = model.trigramNext.length;
  const unigrams = model.unigramCosts.length;
  const indexed = model.wordIndex.length;
  const bytes = new Uint8Array(
    HEADER_BYTES + 2 * (bigrams + trigrams + indexed) + words + 2 * bigrams + trigrams + unigrams,
  );
  let at = 0;
  const u8 = (value: number) => {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`u8 ${value}`);
    bytes[at++] = value;
  };
  const u16 = (value: number) => {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
      throw new RangeError(`u16 ${value}`);
    }
    bytes[at++] = value & 0xff;
    bytes[at++] = value >>> 8;
  };
  for (const value of [words, bigrams, trigrams, unigrams, indexed]) {
    u16(value & 0xffff);
    u16(value >>> 16);
  }
  for (const id of model.bigramNext) u16(id);
  for (const id of model.trigramNext) u16(id);
  for (const id of model.wordIndex) u16(id);
  for (let w = 0; w < words; w++) u8((model.bigramStart[w + 1] ?? 0) - (model.bigramStart[w] ?? 0));
  for (const cost of model.bigramCost) u8(cost);
  for (let e = 0; e < bigrams; e++) {
    u8((model.trigramStart[e + 1] ?? 0) - (model.trigramStart[e] ?? 0));
  }
  for (const cost of model.trigramCost) u8(cost);
  for (const cost of model.unigramCosts) u8(cost);
  if (model.vocab.some((token) => token.includes("\n"))) throw new RangeError("token with newline");
  return { vocab: model.vocab.join("\n"), tables: bytesToBase64(bytes) };
}

/** Rebuilds the model from its committed form. */
export function decodeNgramModel(encoded: EncodedNgramModel): NgramModel {
  const bytes = base64ToBytes(encoded.tables);
  const u32At = (offset: number) =>
    ((bytes[offset] ?? 0) |
      ((bytes[offset + 1] ?? 0) << 8) |
      ((bytes[offset + 2] ?? 0) << 16) |
      ((bytes[offset + 3] ?? 0) << 24)) >>>
    0;
  const [words, bigrams, trigrams, unigrams, indexed] = [0, 4, 8, 12, 16].map(u32At) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const vocab = encoded.vocab.split("\n");
  const expected =
    HEADER_BYTES + 2 * (bigrams + trigrams + indexed) + words + 2 * bigrams + trigrams + unigrams;
  if (vocab.length !== words || bytes.length !== expected) {
    throw new RangeError("malformed n-gram tables");
  }

  let at = HEADER_BYTES;
  const u16s = (length: number) => {
    const array = u16Array(bytes, at, length);
    at += 2 * length;
    return array;
  };
  const u8s = (length: number) => {
    const array = bytes.subarray(at, at + length);
    at += length;
    return array;
  };
  const bigramNext = u16s(bigrams);
  const trigramNext = u16s(trigrams);
  const wordIndex = u16s(indexed);
  const bigramStart = prefixSums(u8s(words));
  const bigramCost = u8s(bigrams);
  const trigramStart = prefixSums(u8s(bigrams));
  const trigramCost = u8s(trigrams);
  const unigramCosts = u8s(unigrams);
  if (bigramStart[words] !== bigrams || trigramStart[bigrams] !== trigrams) {
    throw new RangeError("malformed n-gram tables");
  }
  return {
    vocab,
    unigramCosts,
    bigramStart,
    bigramNext,
    bigramCost,
    trigramStart,
    trigramNext,
    trigramCost,
    wordIndex,
  };
}

function prefixSums(counts: Uint8Array): Uint32Array {
  const sums = new Uint32Array(counts.length + 1);
  let sum = 0;
  for (let i = 0; i < counts.length; i++) {
    sum += counts[i] ?? 0;
    sums[i + 1] = sum;
  }
  return sums;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function u16Array(bytes: Uint8Array, offset: number, length: number): Uint16Array {
  if (LITTLE_ENDIAN && (bytes.byteOffset + offset) % 2 === 0) {
    return new Uint16Array(bytes.buffer, bytes.byteOffset + offset, length);
  }
  const array = new Uint16Array(length);
  for (let i = 0; i < length; i++) {
    array[i] = (bytes[offset + 2 * i] ?? 0) | ((bytes[offset + 2 * i + 1] ?? 0) << 8);
  }
  return array;
}

type Base64Codec = { fromBase64?: (text: string) => Uint8Array };

function base64ToBytes(text: string): Uint8Array {
  const native = (Uint8Array as unknown as Base64Codec).fromBase64?.(text);
  if (native) return native;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}
