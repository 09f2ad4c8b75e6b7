import { type LeafTuple, leafTuple, tupleLeafHash } from "@verity/protocol/merkle-leaf";
import { leafFromOutcome, type RoundOutcome } from "@verity/protocol/round-outcome";
import { and, asc, count, eq, inArray, isNotNull, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Hex } from "viem";
import { settlementRecords } from "./schema";

/** A decided round ready to store: the outcome and the leaf it settles as. */
export interface NewSettlementRecord {
  outcome: RoundOutcome;
  leaf: LeafTuple;
  leafHash: Hex;
}

/** A record waiting for a batch, oldest decision first. */
export interface UnbatchedRecord {
  inferenceId: string;
  /** Computed once, when the record arrived: a batch's tree is built from these. */
  leafHash: Hex;
  /** What the settler checks against the registry before batching it. */
  roundOutcome: RoundOutcome;
}

/**
 * The leaf a decided round settles as, derived once when it arrives.
 *
 * @throws ZodError if the outcome's fields do not make a leaf (see `leafTuple`).
 */
export function settlementRecordOf(outcome: RoundOutcome): NewSettlementRecord {
  // One validation and one encoding: the hash is of the tuple stored beside it.
  const leaf = leafTuple(leafFromOutcome(outcome));
  return { outcome, leaf, leafHash: tupleLeafHash(leaf) };
}

/**
 * Stores records, one per inference: a record already stored (a repeated delivery) is left as
 * it is. All or nothing, in one round trip.
 *
 * @returns the ids that were new.
 */
export async function storeSettlementRecords(
  d1: D1Database,
  records: readonly NewSettlementRecord[],
  receivedAt: number,
): Promise<Set<string>> {
  if (records.length === 0) return new Set();
  const db = drizzle(d1);
  const [first, ...rest] = records.map((r) =>
    db
      .insert(settlementRecords)
      .values({
        inferenceId: r.outcome.inferenceId,
        outcome: r.outcome.outcome,
        roundOutcome: r.outcome,
        leaf: r.leaf,
        leafHash: r.leafHash,
        decidedAt: r.outcome.decidedAt,
        receivedAt,
      })
      .onConflictDoNothing()
      .returning({ inferenceId: settlementRecords.inferenceId }),
  );
  if (!first) return new Set();
  const results = await db.batch([first, ...rest]);
  return new Set(results.flat().map((r) => r.inferenceId));
}

/** Up to `limit` records not in any batch yet and not set aside, oldest decision first. */
export async function unbatchedRecords(d1: D1Database, limit: number): Promise<UnbatchedRecord[]> {
  return drizzle(d1)
    .select({
      inferenceId: settlementRecords.inferenceId,
      leafHash: settlementRecords.leafHash,
      roundOutcome: settlementRecords.roundOutcome,
    })
    .from(settlementRecords)
    .where(and(isNull(settlementRecords.batch), isNull(settlementRecords.setAsideAt)))
    .orderBy(asc(settlementRecords.decidedAt), asc(settlementRecords.inferenceId))
    .limit(limit);
}

/** How many records wait for a batch (set-aside ones not included). */
export async function unbatchedCount(d1: D1Database): Promise<number> {
  const [row] = await drizzle(d1)
    .select({ n: count() })
    .from(settlementRecords)
    .where(and(isNull(settlementRecords.batch), isNull(settlementRecords.setAsideAt)));
  return row?.n ?? 0;
}

/** Sets records aside with `reason`: they are not batched until `restoreRecords`. */
export async function setAsideRecords(
  d1: D1Database,
  inferenceIds: readonly string[],
  reason: string,
  now: number,
): Promise<void> {
  if (inferenceIds.length === 0) return;
  await drizzle(d1)
    .update(settlementRecords)
    .set({ setAsideReason: reason, setAsideAt: now })
    .where(
      and(
        inArray(settlementRecords.inferenceId, [...inferenceIds]),
        isNull(settlementRecords.batch),
      ),
    );
}

/** Puts set-aside records back in line for a batch. */
export async function restoreRecords(d1: D1Database, inferenceIds: readonly string[]) {
  if (inferenceIds.length === 0) return;
  await drizzle(d1)
    .update(settlementRecords)
    .set({ setAsideReason: null, setAsideAt: null })
    .where(inArray(settlementRecords.inferenceId, [...inferenceIds]));
}

/** Up to `limit` set-aside records, the longest aside first: the ones to check again. */
export async function setAsideRecordsToRecheck(
  d1: D1Database,
  limit: number,
): Promise<
  {
    inferenceId: string;
    roundOutcome: RoundOutcome;
    reason: string | null;
    setAsideAt: number | null;
  }[]
> {
  return drizzle(d1)
    .select({
      inferenceId: settlementRecords.inferenceId,
      roundOutcome: settlementRecords.roundOutcome,
      reason: settlementRecords.setAsideReason,
      setAsideAt: settlementRecords.setAsideAt,
    })
    .from(settlementRecords)
    .where(and(isNull(settlementRecords.batch), isNotNull(settlementRecords.setAsideAt)))
    .orderBy(asc(settlementRecords.setAsideAt), asc(settlementRecords.inferenceId))
    .limit(limit);
}

/** How many records are set aside. */
export async function setAsideCount(d1: D1Database): Promise<number> {
  const [row] = await drizzle(d1)
    .select({ n: count() })
    .from(settlementRecords)
    .where(and(isNull(settlementRecords.batch), isNotNull(settlementRecords.setAsideAt)));
  return row?.n ?? 0;
}

/** The round outcomes of batch `batch` (local key), in tree order: what co-signers are sent. */
export async function batchOutcomes(d1: D1Database, batch: number): Promise<RoundOutcome[]> {
  const rows = await drizzle(d1)
    .select({ roundOutcome: settlementRecords.roundOutcome })
    .from(settlementRecords)
    .where(and(eq(settlementRecords.batch, batch)))
    .orderBy(asc(settlementRecords.treeIndex));
  return rows.map((r) => r.roundOutcome);
}
