import { describe, expect, it } from "vitest";
import { cosineSimilarity } from "./cosine-similarity";

describe("cosineSimilarity", () => {
  it("is 1 for parallel vectors, 0 for orthogonal ones, -1 for opposite ones", () => {
    expect(cosineSimilarity([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([1, 0], [0, 5])).toBe(0);
    expect(cosineSimilarity([1, 1], [-1, -1])).toBeCloseTo(-1, 12);
  });

  it("treats two zero vectors as identical and a zero vector as unlike any other", () => {
    expect(cosineSimilarity([0, 0], [0, 0])).toBe(1);
    expect(cosineSimilarity([0, 0], [0, 1])).toBe(0);
  });

  it("refuses vectors of different lengths", () => {
    expect(() => cosineSimilarity([1], [1, 2])).toThrow(RangeError);
  });
});
