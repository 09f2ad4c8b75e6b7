import { expect, it } from "vitest";
import { formatOutcomes, roundFigures } from "./round-figures.ts";

it("measures each round from its receipt to its decision, and the batch from first receipt to last decision", () => {
  const figures = roundFigures([
    { createdAt: 1_000, decidedAt: 1_100, status: "verified" },
    { createdAt: 1_050, decidedAt: 1_350, status: "verified" },
    { createdAt: 1_200, decidedAt: 2_000, status: "inconclusive" },
    { createdAt: 1_500, decidedAt: 1_700, status: "verified" },
  ]);
  expect(figures.latency).toMatchObject({ count: 4, p50: 200, p99: 800, max: 800 });
  // Four rounds between 1.000 s and 2.000 s.
  expect(figures.decidedPerSecond).toBe(4);
  expect(figures.outcomes).toEqual({ verified: 3, inconclusive: 1 });
  expect(formatOutcomes(figures.outcomes)).toBe("3 verified, 1 inconclusive");
});

it("gives no made-up throughput for an empty batch", () => {
  const figures = roundFigures([]);
  expect(figures.decidedPerSecond).toBeNaN();
  expect(figures.latency.count).toBe(0);
  expect(formatOutcomes(figures.outcomes)).toBe("none");
});
