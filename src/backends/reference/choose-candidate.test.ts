import { describe, expect, it } from "vitest";
import { chooseCandidate, decodingOf, EXP2_FRACTION, MAX_CANDIDATES } from "./choose-candidate";
import { Xoshiro128 } from "./prng";

const candidates = (entries: [id: number, cost: number][]) => ({
  ids: Int32Array.from(entries.map(([id]) => id)),
  costs: Int32Array.from(entries.map(([, cost]) => cost)),
  count: entries.length,
});

function histogram(
  entries: [number, number][],
  temperature: number,
  topP: number,
  draws: number,
): Map<number, number> {
  const { ids, costs, count } = candidates(entries);
  const rng = Xoshiro128.fromSeedWords([1234]);
  const seen = new Map<number, number>();
  for (let i = 0; i < draws; i++) {
    const id = chooseCandidate(ids, costs, count, decodingOf(temperature, topP), rng);
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  return seen;
}

describe("chooseCandidate", () => {
  it("is greedy at temperature 0: lowest cost, ties to the lowest id, without drawing", () => {
    const { ids, costs, count } = candidates([
      [9, 30],
      [7, 10],
      [3, 10],
      [1, 50],
    ]);
    const rng = Xoshiro128.fromSeedWords([1]);
    const untouched = Xoshiro128.fromSeedWords([1]);
    expect(chooseCandidate(ids, costs, count, decodingOf(0, 1), rng)).toBe(3);
    expect(rng.next()).toBe(untouched.next());
  });

  it("samples in proportion to 2^(-cost/16) at temperature 1", () => {
    // Costs 0, 16 and 32 are probabilities in the ratio 4 : 2 : 1.
    const seen = histogram(
      [
        [1, 0],
        [2, 16],
        [3, 32],
      ],
      1,
      1,
      70_000,
    );
    expect(Math.abs((seen.get(1) ?? 0) - 40_000)).toBeLessThan(1_000);
    expect(Math.abs((seen.get(2) ?? 0) - 20_000)).toBeLessThan(1_000);
    expect(Math.abs((seen.get(3) ?? 0) - 10_000)).toBeLessThan(1_000);
  });

  it("flattens the distribution at high temperature and sharpens it at low temperature", () => {
    const entries: [number, number][] = [
      [1, 0],
      [2, 32],
    ];
    const hot = histogram(entries, 2, 1, 20_000).get(2) ?? 0;
    const normal = histogram(entries, 1, 1, 20_000).get(2) ?? 0;
    const cold = histogram(entries, 0.25, 1, 20_000).get(2) ?? 0;
    expect(hot).toBeGreaterThan(normal);
    expect(normal).toBeGreaterThan(cold);
    expect(cold).toBeLessThan(150);
  });

  it("keeps only the nucleus that reaches top_p", () => {
    // Probabilities 4/7, 2/7, 1/7: top_p 0.5 keeps the first, 0.8 the first two.
    const entries: [number, number][] = [
      [1, 0],
      [2, 16],
      [3, 32],
    ];
    expect([...histogram(entries, 1, 0.5, 2_000).keys()]).toEqual([1]);
    expect([...histogram(entries, 1, 0.8, 2_000).keys()].sort()).toEqual([1, 2]);
    expect([...histogram(entries, 1, 0, 2_000).keys()]).toEqual([1]);
  });

  it("uses the fixed-point table of 2^24 · 2^(-i/16)", () => {
    EXP2_FRACTION.forEach((value, i) => {
      expect(value).toBe(Math.round(2 ** 24 * 2 ** (-i / 16)));
    });
  });

  it("turns temperature and top_p into integers by exact rounding", () => {
    expect(decodingOf(0.7, 0.9)).toEqual({ temperatureMilli: 700, topPMicro: 900_000 });
    expect(decodingOf(0.0004, 1)).toEqual({ temperatureMilli: 0, topPMicro: 1_000_000 });
  });

  it("refuses an empty or oversized candidate list", () => {
    const rng = Xoshiro128.fromSeedWords([1]);
    const none = new Int32Array(0);
    expect(() => chooseCandidate(none, none, 0, decodingOf(1, 1), rng)).toThrow(RangeError);
    const many = new Int32Array(MAX_CANDIDATES + 1);
    expect(() => chooseCandidate(many, many, many.length, decodingOf(1, 1), rng)).toThrow(
      RangeError,
    );
  });
});
