import { z } from "zod";
import { Bytes32, ChecksumAddress, SignatureHex } from "./receipt";
import { RoundOutcome } from "./round-outcome";
import type { BatchSignature, SettlementBatch } from "./settlement-batch";

/**
 * The most outcomes one co-signing request may carry. A verifier checks every receipt and verdict
 * signature of every outcome before it signs, so this bounds the work one request can ask for.
 */
export const MAX_BATCH_OUTCOMES = 1000;

const MAX_UINT64 = 2n ** 64n - 1n;
const MAX_UINT32 = 2 ** 32 - 1;

/** A `uint64` as a decimal string without leading zeros: JSON numbers cannot hold 64 bits exactly. */
export const DecimalUint64 = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,19})$/, "must be a decimal integer without leading zeros")
  .refine((s) => BigInt(s) <= MAX_UINT64, "must be at most 2^64 - 1");

/** A `SettlementBatch` as JSON: the batch id is a decimal string. */
export const SettlementBatchJson = z.strictObject({
  batchId: DecimalUint64,
  root: Bytes32,
  count: z.int().min(1).max(MAX_UINT32),
});
export type SettlementBatchJson = z.infer<typeof SettlementBatchJson>;

/**
 * What a settler sends a verifier's `POST /v1/batches/sign`: the batch to sign, the ledger it is
 * for, and the decided rounds whose leaves it commits to, so the verifier can check every one of
 * them itself. `outcomes[i]` gives the `i`-th leaf of the tree (`batchRoot`, with
 * `leafHash(leafFromOutcome(outcome))`); `count` must equal their number.
 */
export const BatchSignRequest = z.strictObject({
  batch: SettlementBatchJson,
  chainId: z.int().min(1),
  ledger: ChecksumAddress,
  outcomes: z.array(RoundOutcome).min(1).max(MAX_BATCH_OUTCOMES),
});
export type BatchSignRequest = z.infer<typeof BatchSignRequest>;

/** A verifier's answer to a co-signing request: its `BatchSignature` of the batch. */
export const BatchCoSignature = z.strictObject({
  signer: ChecksumAddress,
  signature: SignatureHex,
}) satisfies z.ZodType<BatchSignature>;
export type BatchCoSignature = BatchSignature;

/** The JSON form of a batch, for a `BatchSignRequest`. */
export function settlementBatchToJson(batch: SettlementBatch): SettlementBatchJson {
  return { batchId: batch.batchId.toString(), root: batch.root, count: batch.count };
}

/** The batch a `BatchSignRequest` asks to sign, as `signBatch` and `batchDigest` take it. */
export function settlementBatchFromJson(batch: SettlementBatchJson): SettlementBatch {
  return { batchId: BigInt(batch.batchId), root: batch.root, count: batch.count };
}
