import { storeDeadLetters } from "../../db/settlement-dead-letters";
import { outcomeProblem } from "./consume-outcomes";

/**
 * The dead-letter queue's consumer: every message that exhausted its retries on
 * `verified-inferences` is recorded in D1 (`settlement_dead_letters`) with why it cannot be
 * settled, then acknowledged. If D1 fails, the batch is retried.
 */
export async function recordDeadLetters(
  batch: MessageBatch<unknown>,
  d1: D1Database,
  now: number = Date.now(),
): Promise<number> {
  const letters = batch.messages.map((m) => ({
    messageId: m.id,
    queue: batch.queue,
    body: m.body,
    // A valid outcome lands here only if storing it kept failing.
    error: outcomeProblem(m.body) ?? "valid outcome; storing it failed on every attempt",
    attempts: m.attempts,
    sentAt: m.timestamp.getTime(),
  }));
  try {
    await storeDeadLetters(d1, letters, now);
  } catch (error) {
    console.error(`recording ${letters.length} dead letter(s) failed; retrying`, error);
    batch.retryAll();
    return 0;
  }
  for (const letter of letters) {
    console.error(`dead letter ${letter.messageId} recorded: ${letter.error}`);
  }
  batch.ackAll();
  return letters.length;
}
