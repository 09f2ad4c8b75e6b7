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
] as const;
export type TaskRefusal = (typeof TASK_REFUSALS)[number];

export const isTaskRefusal = (code: string): code is TaskRefusal =>
  (TASK_REFUSALS as readonly string[]).includes(code);

/** Counts of refused tasks and of verdicts given, for `/v1/health`. In memory, per app instance. */
export class VerifierCounters {
  readonly refused = Object.fromEntries(TASK_REFUSALS.map((r) => [r, 0])) as Record<
    TaskRefusal,
    number
  >;
  readonly verdicts = { valid: 0, invalid: 0, abstain: 0 };

  refuse(reason: TaskRefusal): void {
    this.refused[reason]++;
  }

  snapshot() {
    return { refused: { ...this.refused }, verdicts: { ...this.verdicts } };
  }
}
