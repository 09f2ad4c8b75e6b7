import { keccak256 } from "viem";
import { describe, expect, it } from "vitest";
import { EMBEDDING_DIMENSIONS, embedText } from "./embed-text";

const cosine = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);
const norm = (a: number[]) => Math.sqrt(cosine(a, a));

describe("embedText", () => {
  it("returns a unit vector of the fixed dimension", () => {
    for (const text of ["the cat sat on the mat", "x", "Quarterly TAX filing, deadlines!"]) {
      const vector = embedText(text);
      expect(vector).toHaveLength(EMBEDDING_DIMENSIONS);
      expect(Math.abs(norm(vector) - 1)).toBeLessThan(1e-12);
    }
  });

  it("is deterministic and ignores ASCII case and punctuation", () => {
    expect(embedText("The cat sat on the mat.")).toEqual(embedText("the cat sat on the mat"));
    expect(embedText("The cat sat on the mat.")).toEqual(embedText("The cat sat on the mat."));
  });

  it("scores related texts above unrelated ones", () => {
    const triples = [
      ["the cat sat on the mat", "a cat was sitting on a mat", "quarterly tax filing deadlines"],
      ["how do I bake bread at home", "baking homemade bread", "the stock market fell sharply"],
      ["sunny and warm weather today", "the weather is warm and sunny", "database index tuning"],
      [
        "training data for learning models",
        "machine learning models need data",
        "my dog loves fetch",
      ],
      ["quarterly tax filing deadlines", "deadlines for filing taxes quarterly", "a cat on a mat"],
    ];
    for (const [anchor = "", related = "", unrelated = ""] of triples) {
      const a = embedText(anchor);
      expect(cosine(a, embedText(related)), `${anchor} ~ ${related}`).toBeGreaterThan(
        cosine(a, embedText(unrelated)) + 0.1,
      );
    }
  });

  it("embeds text without words as the zero vector", () => {
    expect(embedText("... !!! ,")).toEqual(new Array(EMBEDDING_DIMENSIONS).fill(0));
    expect(embedText("")).toEqual(new Array(EMBEDDING_DIMENSIONS).fill(0));
  });

  it("produces the same bits as when this test was written", () => {
    const vector = embedText("Verity verifies inference, bit for bit: 你好!");
    const bytes = new DataView(new ArrayBuffer(8 * vector.length));
    vector.forEach((value, i) => {
      bytes.setFloat64(8 * i, value, true);
    });
    expect(keccak256(new Uint8Array(bytes.buffer))).toBe(GOLDEN_EMBEDDING_HASH);
  });
});

// keccak256 of the little-endian float64 components, recorded in workerd and cross-checked under
// Node 22: pins every bit of the embedding.
const GOLDEN_EMBEDDING_HASH = "0x3621214ff147477c6965b18b6510e925690f3212166a1dcf8c80cb0d23977ba0";
