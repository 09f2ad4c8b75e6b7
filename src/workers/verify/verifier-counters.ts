import { BATCH_REFUSALS, type BatchRefusal } from "./batch-refusal";

/** Why a task was refused; each is counted. */
export const TASK_REFUSALS = [
  "malformed",
  "unsupported_media_type",
  "too_large",
  "unsigned_task",
  "bad_signature",
  "payload_mismatch",
  "wrong_coordinator",
  "wrong_verifier",
  "stale",
  "overloaded",
] as const;
export type TaskRefusal = (typeof TASK_REFUSALS)[number];

export const isTaskRefusal = (code: string): code is TaskRefusal =>
  (TASK_REFUSALS as readonly string[]).includes(code);

/**
 * Counts of refused tasks, verdicts given, and settlement batches co-signed or refused, for
 * `/v1/health`. In memory, per app instance.
 */
export class VerifierCounters {
  readonly refused = Object.fromEntries(TASK_REFUSALS.map((r) => [r, 0])) as Record<
    TaskRefusal,
    number
  >;
  readonly verdicts = { valid: 0, invalid: 0, abstain: 0 };
  readonly batches = {
    signed: 0,
    refused: Object.fromEntries(BATCH_REFUSALS.map((r) => [r, 0])) as Record<BatchRefusal, number>,
  };

  refuse(reason: TaskRefusal): void {
    this.refused[reason]++;
  }

  refuseBatch(reason: BatchRefusal): void {
    this.batches.refused[reason]++;
  }

  snapshot() {
    return {
      refused: { ...this.refused },
      verdicts: { ...this.verdicts },
      batches: { signed: this.batches.signed, refused: { ...this.batches.refused } },
    };
  }
}
