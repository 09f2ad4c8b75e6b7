import { checkOutcomeDigests } from "@verity/protocol/check-round-outcome";
import { RoundOutcome } from "@verity/protocol/round-outcome";
import { crashPoint } from "../../crash-point";
import {
  type NewSettlementRecord,
  settlementRecordOf,
  storeSettlementRecords,
} from "../../db/settlement-records";

/** The queue decided rounds arrive on, and where messages go after `max_retries`. */
export const OUTCOMES_QUEUE = "verified-inferences";
export const DEAD_LETTER_QUEUE = "verified-inferences-dlq";

/** What one queue batch came to. */
export interface ConsumeSummary {
  /** Newly stored. */
  stored: number;
  /** Already stored (a repeated delivery), acknowledged. */
  duplicates: number;
  /** Not a settleable outcome: retried, so they end up in the dead-letter queue. */
  invalid: number;
  /** Valid but not stored (D1 failed): retried. */
  failed: number;
}

/**
 * Why `body` cannot be settled, or null if it can: it must be a `RoundOutcome` whose digests
 * match what they commit to (`checkOutcomeDigests`) and whose fields make a leaf. Anything else would make every
 * co-signer refuse the batch it landed in.
 */
export function outcomeProblem(body: unknown): string | null {
  const parsed = RoundOutcome.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join(".") || "(message)"}: ${i.message}`);
    const more = parsed.error.issues.length - issues.length;
    return `not a RoundOutcome (${issues.join("; ")}${more > 0 ? `; and ${more} more` : ""})`;
  }
  const outcome = parsed.data;
  const digests = checkOutcomeDigests(outcome);
  if (digests) return `${digests.reason}: ${digests.message}`;
  try {
    settlementRecordOf(outcome);
  } catch (error) {
    return `its fields do not make a settlement leaf: ${String(error)}`;
  }
  return null;
}

/**
 * The `verified-inferences` consumer: each valid outcome is stored once (by inference id) and
 * acknowledged, a repeat delivery included. An invalid message is never acknowledged: it is
 * retried until the queue moves it to the dead-letter queue, where it is recorded. If D1 fails,
 * the valid messages are retried.
 */
export async function consumeOutcomes(
  batch: MessageBatch<unknown>,
  d1: D1Database,
  now: number = Date.now(),
): Promise<ConsumeSummary> {
  const summary: ConsumeSummary = { stored: 0, duplicates: 0, invalid: 0, failed: 0 };
  const valid: { message: Message<unknown>; record: NewSettlementRecord }[] = [];
  for (const message of batch.messages) {
    const problem = outcomeProblem(message.body);
    if (problem !== null) {
      console.error(
        `queue message ${message.id} (attempt ${message.attempts}) cannot be settled: ${problem}`,
      );
      message.retry();
      summary.invalid++;
      continue;
    }
    valid.push({ message, record: settlementRecordOf(RoundOutcome.parse(message.body)) });
  }
  // A batch may carry one inference twice; storing it once is enough for both.
  const unique = new Map(valid.map((v) => [v.record.outcome.inferenceId, v.record]));
  let inserted: Set<string>;
  try {
    crashPoint("queued-not-stored");
    inserted = await storeSettlementRecords(d1, [...unique.values()], now);
  } catch (error) {
    console.error(`storing ${unique.size} outcome(s) failed; they will be retried`, error);
    for (const { message } of valid) message.retry();
    summary.failed = valid.length;
    return summary;
  }
  for (const { message, record } of valid) {
    message.ack();
    if (inserted.delete(record.outcome.inferenceId)) summary.stored++;
    else summary.duplicates++;
  }
  return summary;
}
