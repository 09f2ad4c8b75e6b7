import { describe, expect, it } from "vitest";
import { Xoshiro128 } from "./prng";

describe("Xoshiro128", () => {
  it("reproduces the reference xoshiro128** output for the state (0, 1, 2, 3)", () => {
    const rng = new Xoshiro128(0, 1, 2, 3);
    const outputs = Array.from({ length: 6 }, () => rng.next());
    expect(outputs).toEqual([5760, 17280, 2966400, 32451840, 2604340873, 3891234569]);
  });

  it("seeds through splitmix32 to a fixed stream", () => {
    const rng = Xoshiro128.fromSeedWords([42, 0, 0xdeadbeef]);
    const outputs = Array.from({ length: 4 }, () => rng.next());
    expect(outputs).toEqual(GOLDEN_SEEDED_STREAM);
  });

  it("gives different streams for seeds that differ in any word", () => {
    const first = (words: number[]) => Xoshiro128.fromSeedWords(words).next();
    const values = new Set([
      first([1, 0, 7]),
      first([2, 0, 7]),
      first([1, 1, 7]),
      first([1, 0, 8]),
    ]);
    expect(values.size).toBe(4);
  });

  it("draws bounded integers uniformly, including the full 2^32 range", () => {
    const rng = Xoshiro128.fromSeedWords([7]);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) {
      const k = rng.below(3);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(500);
    const wide = rng.below(0x100000000);
    expect(wide).toBeGreaterThanOrEqual(0);
    expect(wide).toBeLessThan(0x100000000);
    expect(() => rng.below(0)).toThrow(RangeError);
    expect(() => rng.below(1.5)).toThrow(RangeError);
  });
});

// Pins the seeding procedure (cross-checked with an independent Python implementation):
// a change here changes every sampled reply.
const GOLDEN_SEEDED_STREAM = [4031243367, 637991611, 2376552499, 3351769065];
