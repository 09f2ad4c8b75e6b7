import { type LeafTuple, leafTypes } from "@verity/protocol/merkle-leaf";
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { type Address, getAddress, type Hex } from "viem";
import { inferences, settlementBatches, settlementRecords } from "../../db/schema";
import { readProof } from "../../db/settlement-tree";
import { notFound, VerityError } from "../../errors";
import type { GatewayEnv } from "./gateway-env";

/**
 * Where an inference stands in settlement: `queued` (stored, not in a batch yet), `pending`
 * (in a batch waiting for co-signatures), `submitted` (its batch's transaction is on its way
 * or not deep enough yet), `confirmed` (final: the proof verifies on-chain).
 */
export interface Settlement {
  /**
   * `unsettleable`: decided, but set aside rather than batched, for `reason` (its verdicts no
   * longer make a quorum of registered verifiers); the settler checks it again every tick.
   */
  status: "queued" | "unsettleable" | "pending" | "submitted" | "confirmed";
  /** Why the record is set aside; null otherwise. */
  reason: string | null;
  /** What the verifiers decided; the leaf carries it on-chain. */
  outcome: "verified" | "rejected";
  /** The ledger's batch id as a decimal string (a `uint64`). */
  batchId: string | null;
  root: Hex | null;
  contract: Address | null;
  chainId: number | null;
  transactionHash: Hex | null;
  blockNumber: number | null;
  confirmedAt: number | null;
}

/**
 * Everything needed to check an inference's settlement without trusting Verity:
 * `StandardMerkleTree.verify(root, leaf.types, leaf.values, proof)` off-chain, and
 * `VerityLedger(contract).isIncluded(batchId, proof, leaf.hash)` on chain `chainId`.
 */
export interface InferenceProof {
  inferenceId: string;
  /** Decimal string: the ledger's `uint64` batch id. */
  batchId: string;
  root: Hex;
  leaf: { values: LeafTuple; types: string[]; hash: Hex };
  /** Sibling hashes from the leaf up to the root. */
  proof: Hex[];
  /** The leaf's index in the tree array (`StandardMerkleTree.dump().tree`). */
  leafIndex: number;
  contract: Address;
  chainId: number;
  transactionHash: Hex;
  blockNumber: number;
}

async function settlementRow(d1: D1Database, inferenceId: string, apiKeyId?: string) {
  const [row] = await drizzle(d1)
    .select({
      record: {
        outcome: settlementRecords.outcome,
        leaf: settlementRecords.leaf,
        leafHash: settlementRecords.leafHash,
        treeIndex: settlementRecords.treeIndex,
        setAsideAt: settlementRecords.setAsideAt,
        setAsideReason: settlementRecords.setAsideReason,
      },
      batch: settlementBatches,
    })
    .from(inferences)
    .leftJoin(settlementRecords, eq(settlementRecords.inferenceId, inferences.id))
    .leftJoin(settlementBatches, eq(settlementBatches.id, settlementRecords.batch))
    .where(
      apiKeyId === undefined
        ? eq(inferences.id, inferenceId)
        : and(eq(inferences.id, inferenceId), eq(inferences.apiKeyId, apiKeyId)),
    )
    .limit(1);
  return row;
}

/**
 * The settlement of an inference for `GET /v1/inferences/{id}`, or null when it has none (not
 * decided yet, or inconclusive: only decided rounds are settled). Ownership is the caller's
 * check. Two indexed reads; no tree is rebuilt.
 */
export async function settlementOf(
  env: { DB: D1Database },
  inferenceId: string,
): Promise<Settlement | null> {
  const row = await settlementRow(env.DB, inferenceId);
  if (!row?.record) return null;
  const batch = row.batch;
  const aside = !batch && row.record.setAsideAt !== null;
  return {
    // A dissolved batch holds no records any more; a record is never shown in one.
    status:
      batch && batch.status !== "dissolved" ? batch.status : aside ? "unsettleable" : "queued",
    reason: aside ? row.record.setAsideReason : null,
    outcome: row.record.outcome,
    batchId: batch ? String(batch.batchId) : null,
    root: (batch?.root as Hex | undefined) ?? null,
    contract: batch ? getAddress(batch.ledger) : null,
    chainId: batch?.chainId ?? null,
    transactionHash: (batch?.txHash as Hex | null | undefined) ?? null,
    blockNumber: batch?.blockNumber ?? null,
    confirmedAt: batch?.confirmedAt ?? null,
  };
}

/**
 * The inclusion proof of an inference made with API key `apiKeyId`: one indexed read of the
 * record and its batch, one of its O(log n) stored sibling hashes.
 *
 * @throws VerityError 404 `inference_not_found` for an unknown id or another key's record;
 * 404 `not_settled` while its batch is not confirmed (a proof against an unconfirmed root could
 * still be undone by a reorg, and `isIncluded` answers false until the root is on-chain).
 */
export async function inferenceProof(
  d1: D1Database,
  inferenceId: string,
  apiKeyId: string,
): Promise<InferenceProof> {
  const row = await settlementRow(d1, inferenceId, apiKeyId);
  if (!row) {
    throw notFound(
      `No inference with id '${inferenceId}' for this API key.`,
      "inference_not_found",
      "id",
    );
  }
  const { record, batch } = row;
  if (
    !record ||
    !batch ||
    batch.status !== "confirmed" ||
    record.treeIndex === null ||
    !batch.txHash ||
    batch.blockNumber === null
  ) {
    const where = !record
      ? "it is not decided yet, or its round was inconclusive"
      : !batch
        ? record.setAsideAt !== null
          ? `it is set aside as unsettleable (${record.setAsideReason})`
          : "it is queued for the next batch"
        : `its batch ${batch.batchId} is ${batch.status}`;
    throw new VerityError(`Inference '${inferenceId}' is not settled yet: ${where}.`, {
      status: 404,
      type: "invalid_request_error",
      code: "not_settled",
      param: "id",
    });
  }
  return {
    inferenceId,
    batchId: String(batch.batchId),
    root: batch.root as Hex,
    leaf: { values: record.leaf, types: leafTypes(record.leaf), hash: record.leafHash as Hex },
    proof: await readProof(d1, batch.id, record.treeIndex),
    leafIndex: record.treeIndex,
    contract: getAddress(batch.ledger),
    chainId: batch.chainId,
    transactionHash: batch.txHash as Hex,
    blockNumber: batch.blockNumber,
  };
}

/**
 * `GET /v1/inferences/{id}/proof`: the inference's Merkle inclusion proof, once its batch is
 * confirmed on-chain. Another key's record answers 404 like a missing one.
 */
export async function getInferenceProof(c: Context<GatewayEnv>): Promise<Response> {
  const id = c.req.param("id") ?? "";
  return c.json(await inferenceProof(c.env.DB, id, c.get("apiKey").id));
}
