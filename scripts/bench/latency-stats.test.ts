import { describe, expect, it } from "vitest";
import { latencyStats, percentile } from "./latency-stats.ts";

describe("percentile", () => {
  it("takes the nearest rank: p50 of 1..100 is 50, p99 is 99, p100 is the max", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
  });

  it("on few samples, p99 is the slowest one rather than an interpolation", () => {
    expect(percentile([1, 2, 3], 99)).toBe(3);
    expect(percentile([1, 2, 3], 50)).toBe(2);
  });

  it("is NaN with no samples, so a table shows '-' instead of a made-up figure", () => {
    expect(percentile([], 50)).toBeNaN();
  });
});

describe("latencyStats", () => {
  it("sorts its samples itself", () => {
    expect(latencyStats([30, 10, 20, 40])).toEqual({
      count: 4,
      p50: 20,
      p99: 40,
      mean: 25,
      max: 40,
    });
  });
});
