import { desc } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { settlementDeadLetters } from "./schema";

export interface DeadLetter {
  messageId: string;
  queue: string;
  body: unknown;
  error: string | null;
  attempts: number;
  sentAt: number;
}

/** Records messages that exhausted their retries, once each (by message id). */
export async function storeDeadLetters(
  d1: D1Database,
  letters: readonly DeadLetter[],
  receivedAt: number,
): Promise<void> {
  if (letters.length === 0) return;
  const db = drizzle(d1);
  const [first, ...rest] = letters.map((l) =>
    db
      .insert(settlementDeadLetters)
      .values({
        messageId: l.messageId,
        queue: l.queue,
        body: JSON.stringify(l.body) ?? "null",
        error: l.error,
        attempts: l.attempts,
        sentAt: l.sentAt,
        receivedAt,
      })
      .onConflictDoNothing(),
  );
  if (first) await db.batch([first, ...rest]);
}

/** The most recent dead letters, newest first. */
export async function recentDeadLetters(d1: D1Database, limit = 50) {
  return drizzle(d1)
    .select()
    .from(settlementDeadLetters)
    .orderBy(desc(settlementDeadLetters.receivedAt))
    .limit(limit);
}
