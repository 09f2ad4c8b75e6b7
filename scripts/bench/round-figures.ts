import { type LatencyStats, latencyStats } from "./latency-stats.ts";

/** A decided round as the bench reads it from `GET /v1/inferences/{id}`. */
export interface DecidedRound {
  /** The receipt's `createdAt` (ms): when the answer was signed and stored. */
  createdAt: number;
  /** The round's `decidedAt` (ms). */
  decidedAt: number;
  status: string;
}

export interface RoundFigures {
  /** Receipt to decision, per round (ms). */
  latency: LatencyStats;
  /**
   * Rounds decided per second over the whole batch: their count over the time from the first
   * receipt to the last decision.
   */
  decidedPerSecond: number;
  /** How many rounds ended in each status. */
  outcomes: Record<string, number>;
}

/** Latency, throughput and outcomes of a batch of decided rounds. */
export function roundFigures(rounds: readonly DecidedRound[]): RoundFigures {
  const outcomes: Record<string, number> = {};
  for (const round of rounds) outcomes[round.status] = (outcomes[round.status] ?? 0) + 1;
  const first = Math.min(...rounds.map((r) => r.createdAt));
  const last = Math.max(...rounds.map((r) => r.decidedAt));
  return {
    latency: latencyStats(rounds.map((r) => r.decidedAt - r.createdAt)),
    decidedPerSecond:
      rounds.length > 0 && last > first ? rounds.length / ((last - first) / 1000) : Number.NaN,
    outcomes,
  };
}

/** "98 verified, 2 inconclusive": outcomes, most frequent first. */
export const formatOutcomes = (outcomes: Record<string, number>) =>
  Object.entries(outcomes)
    .sort(([, a], [, b]) => b - a)
    .map(([status, count]) => `${count} ${status}`)
    .join(", ") || "none";
