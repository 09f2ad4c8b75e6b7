import { and, asc, desc, eq, gte, inArray, max, ne, notInArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Hex } from "viem";
import {
  inferences,
  type SettlementBatchRow,
  settlementBatches,
  settlementRecords,
  settlementTreeNodes,
} from "./schema";
import type { UnbatchedRecord } from "./settlement-records";
import { type BatchTree, treeNodeStatements } from "./settlement-tree";

/** Which ledger, and whose batches: the settler's key address. */
export interface LedgerScope {
  chainId: number;
  ledger: string;
  settler: string;
}

/** Fields of a batch row the settler changes as it goes. */
export type BatchChanges = Partial<
  Pick<
    SettlementBatchRow,
    | "batchId"
    | "status"
    | "reason"
    | "signatures"
    | "txHash"
    | "nonce"
    | "submittedAt"
    | "submissions"
    | "blockNumber"
    | "blockHash"
  >
>;

/** Record ids and tree indices per update statement (one JSON parameter). */
const RECORDS_PER_STATEMENT = 5_000;

/**
 * Stores a new pending batch: its row, its records' membership and tree indices, and every node
 * of its tree, in one D1 transaction (all of it or none of it).
 *
 * @throws Error if a record was already in another batch: only one settler builds batches
 * from a database, so that is a bug.
 */
export async function createSettlementBatch(
  d1: D1Database,
  scope: LedgerScope,
  batchId: number,
  records: readonly UnbatchedRecord[],
  tree: BatchTree,
  now: number,
): Promise<SettlementBatchRow> {
  const key = { chainId: scope.chainId, ledger: scope.ledger, batchId };
  const statements: D1PreparedStatement[] = [
    d1
      .prepare(
        `insert into settlement_batches
           (chain_id, ledger, batch_id, root, count, status, settler, created_at, updated_at)
         values (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?7)`,
      )
      .bind(scope.chainId, scope.ledger, batchId, tree.root, records.length, scope.settler, now),
  ];
  const membership = records.map((r, i) => [r.inferenceId, tree.treeIndices[i]]);
  for (let offset = 0; offset < membership.length; offset += RECORDS_PER_STATEMENT) {
    statements.push(
      d1
        .prepare(
          `update settlement_records
           set batch = (select id from settlement_batches
                        where chain_id = ?1 and ledger = ?2 and batch_id = ?3),
               tree_index = j.value ->> 1
           from json_each(?4) j
           where settlement_records.inference_id = j.value ->> 0
             and settlement_records.batch is null`,
        )
        .bind(
          scope.chainId,
          scope.ledger,
          batchId,
          JSON.stringify(membership.slice(offset, offset + RECORDS_PER_STATEMENT)),
        ),
    );
  }
  statements.push(...treeNodeStatements(d1, key, tree.nodes));
  statements.push(
    d1
      .prepare(
        `select b.*, (select count(*) from settlement_records r where r.batch = b.id) as members
         from settlement_batches b where chain_id = ?1 and ledger = ?2 and batch_id = ?3`,
      )
      .bind(scope.chainId, scope.ledger, batchId),
  );
  const results = await d1.batch(statements);
  const check = results.at(-1)?.results[0] as { id: number; members: number } | undefined;
  if (!check || check.members !== records.length) {
    throw new Error(
      `batch ${batchId} took ${check?.members ?? 0} of its ${records.length} records: another settler is batching them`,
    );
  }
  const row = await batchByKey(d1, check.id);
  if (!row) throw new Error(`batch ${batchId} vanished after it was stored`);
  return row;
}

export async function batchByKey(d1: D1Database, id: number): Promise<SettlementBatchRow | null> {
  const [row] = await drizzle(d1)
    .select()
    .from(settlementBatches)
    .where(eq(settlementBatches.id, id))
    .limit(1);
  return row ?? null;
}

/** The conditions that select this settler's batches on this ledger. */
const ofScope = (scope: LedgerScope) => [
  eq(settlementBatches.chainId, scope.chainId),
  eq(settlementBatches.ledger, scope.ledger),
  eq(settlementBatches.settler, scope.settler),
];

/** This settler's batches that are not confirmed yet, oldest first. */
export async function openBatches(
  d1: D1Database,
  scope: LedgerScope,
): Promise<SettlementBatchRow[]> {
  return drizzle(d1)
    .select()
    .from(settlementBatches)
    .where(and(...ofScope(scope), notInArray(settlementBatches.status, ["confirmed", "dissolved"])))
    .orderBy(asc(settlementBatches.id));
}

/** The batch id after the highest this database has used on the ledger. */
export async function nextBatchId(
  d1: D1Database,
  scope: Pick<LedgerScope, "chainId" | "ledger">,
): Promise<number> {
  const [row] = await drizzle(d1)
    .select({ highest: max(settlementBatches.batchId) })
    .from(settlementBatches)
    .where(
      and(eq(settlementBatches.chainId, scope.chainId), eq(settlementBatches.ledger, scope.ledger)),
    );
  return (row?.highest ?? 0) + 1;
}

export async function updateBatch(
  d1: D1Database,
  id: number,
  changes: BatchChanges,
  now: number,
): Promise<void> {
  await drizzle(d1)
    .update(settlementBatches)
    .set({ ...changes, updatedAt: now })
    .where(eq(settlementBatches.id, id));
}

/** The inference ids of batch `id`'s verified records: the ones a confirmation marks settled. */
const verifiedRecordsOf = (db: ReturnType<typeof drizzle>, id: number) =>
  db
    .select({ id: settlementRecords.inferenceId })
    .from(settlementRecords)
    .where(and(eq(settlementRecords.batch, id), eq(settlementRecords.outcome, "verified")));

/**
 * Marks a batch confirmed where `inclusion` says, and its verified records' inferences
 * `settled`, in one transaction. Rejected records keep their `rejected` status: their leaf says
 * so on-chain, and `settled` must never hide a rejection.
 */
export async function confirmBatch(
  d1: D1Database,
  id: number,
  inclusion: { txHash: Hex; blockNumber: number; blockHash: Hex },
  now: number,
): Promise<void> {
  const db = drizzle(d1);
  await db.batch([
    db
      .update(settlementBatches)
      .set({
        status: "confirmed",
        reason: null,
        txHash: inclusion.txHash,
        blockNumber: inclusion.blockNumber,
        blockHash: inclusion.blockHash,
        confirmedAt: now,
        updatedAt: now,
      })
      .where(eq(settlementBatches.id, id)),
    db
      .update(inferences)
      .set({ status: "settled", updatedAt: now })
      .where(
        and(inArray(inferences.id, verifiedRecordsOf(db, id)), ne(inferences.status, "settled")),
      ),
  ]);
}

/**
 * This settler's batches confirmed at or after `since` (Unix ms), newest first, at most `limit`:
 * the ones a chain that lost its last moments (a crashed local node, a deep reorg) may no longer
 * hold.
 */
export async function recentlyConfirmedBatches(
  d1: D1Database,
  scope: LedgerScope,
  since: number,
  limit: number,
): Promise<SettlementBatchRow[]> {
  return drizzle(d1)
    .select()
    .from(settlementBatches)
    .where(
      and(
        ...ofScope(scope),
        eq(settlementBatches.status, "confirmed"),
        gte(settlementBatches.confirmedAt, since),
      ),
    )
    .orderBy(desc(settlementBatches.confirmedAt))
    .limit(limit);
}

/**
 * Takes back the confirmation of a batch the chain no longer holds: the batch is `submitted`
 * again (its transaction is followed up, found gone and sent again with the same records and
 * root), and its verified records' inferences go back from `settled` to `verified`, in one
 * transaction.
 */
export async function reopenBatch(
  d1: D1Database,
  id: number,
  reason: string,
  now: number,
): Promise<void> {
  const db = drizzle(d1);
  await db.batch([
    db
      .update(settlementBatches)
      .set({ status: "submitted", reason, confirmedAt: null, updatedAt: now })
      .where(and(eq(settlementBatches.id, id), eq(settlementBatches.status, "confirmed"))),
    db
      .update(inferences)
      .set({ status: "verified", updatedAt: now })
      .where(
        and(inArray(inferences.id, verifiedRecordsOf(db, id)), eq(inferences.status, "settled")),
      ),
  ]);
}

/**
 * Dissolves pending batch `id`, which no verifier has co-signed: its records go back in line,
 * except `refused` ones (inference id to the co-signers' reason), which are set aside with it.
 * The row stays, `dissolved`, so its batch id is never used again: a verifier may remember it.
 */
export async function dissolveBatch(
  d1: D1Database,
  id: number,
  refused: ReadonlyMap<string, string>,
  now: number,
): Promise<void> {
  const db = drizzle(d1);
  await db.batch([
    db
      .update(settlementRecords)
      .set({ batch: null, treeIndex: null })
      .where(eq(settlementRecords.batch, id)),
    ...[...refused].map(([inferenceId, reason]) =>
      db
        .update(settlementRecords)
        .set({ setAsideReason: reason, setAsideAt: now })
        .where(eq(settlementRecords.inferenceId, inferenceId)),
    ),
    db.delete(settlementTreeNodes).where(eq(settlementTreeNodes.batch, id)),
    db
      .update(settlementBatches)
      .set({
        status: "dissolved",
        reason: `dissolved: co-signers refused ${[...refused.keys()].join(", ")}`,
        updatedAt: now,
      })
      .where(and(eq(settlementBatches.id, id), eq(settlementBatches.status, "pending"))),
  ]);
}
