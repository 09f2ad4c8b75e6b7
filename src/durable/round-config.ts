import { z } from "zod";

const intVar = (fallback: number, min = 1) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === "" ? fallback : Number(v)))
    .pipe(z.number().int().min(min));

const RoundConfigSchema = z
  .object({
    COMMITTEE_SIZE: intVar(3),
    QUORUM: intVar(2),
    ROUND_DEADLINE_MS: intVar(5_000),
    MAX_REPLACEMENTS: intVar(2, 0),
    MAX_SILENCE_RETRIES: intVar(4, 0),
    HEARTBEAT_TTL_MS: intVar(30_000),
    OUTCOME_RESEND_AFTER_MS: intVar(60_000),
  })
  .refine((c) => c.QUORUM <= c.COMMITTEE_SIZE, {
    message: "QUORUM must not exceed COMMITTEE_SIZE",
  });

export interface RoundConfig {
  committeeSize: number;
  quorum: number;
  deadlineMs: number;
  maxReplacements: number;
  /**
   * How many times silent members are asked again, each time with twice the last wait, before a
   * round with no one left to add ends inconclusive: a busy verifier is not a verdict.
   */
  maxSilenceRetries: number;
  heartbeatTtlMs: number;
  /** How long a decided record may go without reaching the settler before its outcome is resent. */
  outcomeResendAfterMs: number;
}

/** Reads the round settings from the gateway's vars, with the documented defaults. */
export function roundConfig(
  env: Partial<Record<keyof z.input<typeof RoundConfigSchema>, string>>,
): RoundConfig {
  const c = RoundConfigSchema.parse({
    COMMITTEE_SIZE: env.COMMITTEE_SIZE,
    QUORUM: env.QUORUM,
    ROUND_DEADLINE_MS: env.ROUND_DEADLINE_MS,
    MAX_REPLACEMENTS: env.MAX_REPLACEMENTS,
    MAX_SILENCE_RETRIES: env.MAX_SILENCE_RETRIES,
    HEARTBEAT_TTL_MS: env.HEARTBEAT_TTL_MS,
    OUTCOME_RESEND_AFTER_MS: env.OUTCOME_RESEND_AFTER_MS,
  });
  return {
    committeeSize: c.COMMITTEE_SIZE,
    quorum: c.QUORUM,
    deadlineMs: c.ROUND_DEADLINE_MS,
    maxReplacements: c.MAX_REPLACEMENTS,
    maxSilenceRetries: c.MAX_SILENCE_RETRIES,
    heartbeatTtlMs: c.HEARTBEAT_TTL_MS,
    outcomeResendAfterMs: c.OUTCOME_RESEND_AFTER_MS,
  };
}
