import { z } from "zod";
import { InferenceId } from "./inference-id";
import { LEAF_TYPES, LEAF_TYPES_V2 } from "./merkle-leaf";
import { Bytes32, ChecksumAddress, Receipt, receiptDigest } from "./receipt";
import { NormalizedRequest } from "./request";
import { ResponseContent } from "./response";
import { RoundOutcome, roundStrength } from "./round-outcome";
import { Verdict } from "./verdict";
import { StrengthScore, VerificationStrength } from "./verification-strength";

/** Where a record's batch was settled, and the proof that puts the record in it. */
export const RecordSettlement = z.strictObject({
  chainId: z.number().int().positive(),
  /** The VerityLedger the batch was settled to; its registry is read from it, on-chain. */
  ledger: ChecksumAddress,
  /** The ledger's `uint64` batch id, as a decimal string. */
  batchId: z.string().regex(/^\d{1,20}$/),
  root: Bytes32,
  /** The record's leaf hash, as the settler stored it. */
  leafHash: Bytes32,
  /** Sibling hashes from the leaf up to the root. */
  proof: z.array(Bytes32).max(64),
  transactionHash: Bytes32,
  blockNumber: z.number().int().nonnegative(),
});
export type RecordSettlement = z.infer<typeof RecordSettlement>;

/**
 * One inference with everything needed to check it without the gateway: the content its
 * receipt commits to, the receipt, the decided round (as it was sent to settlement), and where
 * it was settled. `verity export` writes it; `verifyRecord` checks it against the chain alone.
 * `round` is null until the round is decided, `settlement` until its batch is confirmed.
 */
export const VerityRecord = z.strictObject({
  format: z.literal("verity-record"),
  version: z.literal(1),
  inferenceId: InferenceId,
  request: NormalizedRequest,
  response: ResponseContent,
  receipt: Receipt,
  /** Where the gateway says the record stands: `pending`, `running`, `verified`, …. */
  status: z.string(),
  round: RoundOutcome.nullable(),
  settlement: RecordSettlement.nullable(),
});
export type VerityRecord = z.infer<typeof VerityRecord>;

/** What `GET /v1/inferences/{id}` answers, as far as a record needs it. */
const GatewayInference = z.object({
  id: InferenceId,
  status: z.string(),
  request: NormalizedRequest,
  response: ResponseContent,
  receipt: Receipt,
  verification: z.object({
    status: z.string(),
    quorum: z.number().int().positive().optional(),
    committee: z.array(z.object({ address: ChecksumAddress })),
    decidedAt: z.number().int().nonnegative().nullable().optional(),
    verdicts: z.array(z.object({ counted: z.boolean(), verdict: Verdict })),
    verdictsDigest: Bytes32.nullable().optional(),
    /** Present once a round of protocol v2 is decided. */
    strength: z
      .object({ strength: VerificationStrength, strengthScore: StrengthScore })
      .nullable()
      .optional(),
  }),
});

/** A proof's `leaf.types`, joined, to the leaf version they lay out. */
const LEAF_VERSIONS = new Map<string, 1 | 2>([
  [LEAF_TYPES.join(), 1],
  [LEAF_TYPES_V2.join(), 2],
]);

/** What `GET /v1/inferences/{id}/proof` answers. */
const GatewayProof = z.object({
  batchId: z.string(),
  root: Bytes32,
  leaf: z.object({ types: z.array(z.string()), hash: Bytes32 }),
  proof: z.array(Bytes32),
  contract: ChecksumAddress,
  chainId: z.number().int().positive(),
  transactionHash: Bytes32,
  blockNumber: z.number().int().nonnegative(),
});

export type RecordFromGateway =
  | { ok: true; record: VerityRecord }
  | { ok: false; reason: "malformed_answer"; message: string };

/**
 * The record of an inference from the gateway's two answers (`proof` null while the record is
 * not settled). Nothing is trusted here: `verifyRecord` checks it all.
 */
export function recordFromGateway(inference: unknown, proof: unknown | null): RecordFromGateway {
  const parsed = GatewayInference.safeParse(inference);
  if (!parsed.success) return malformed("the inference", parsed.error);
  const settled = proof === null ? null : GatewayProof.safeParse(proof);
  if (settled && !settled.success) return malformed("the proof", settled.error);
  const { id, status, request, response, receipt, verification: round } = parsed.data;

  const decided = round.status === "verified" || round.status === "rejected";
  const verdicts = round.verdicts.filter((v) => v.counted).map((v) => v.verdict);
  // The version the round settles as: a settled leaf's layout says it; before that, a decided
  // round of protocol v2 carries its strength.
  const leafTypes = settled?.data?.leaf.types.join();
  const version = leafTypes === undefined ? (round.strength ? 2 : 1) : LEAF_VERSIONS.get(leafTypes);
  if (version === undefined) {
    return {
      ok: false,
      reason: "malformed_answer",
      message: `the proof's leaf types are ${leafTypes}, not those of version 1 or 2`,
    };
  }
  const outcome = decided ? (round.status as "verified" | "rejected") : undefined;
  const record = VerityRecord.safeParse({
    format: "verity-record",
    version: 1,
    inferenceId: id,
    request,
    response,
    receipt,
    status,
    round:
      outcome && round.quorum !== undefined && round.verdictsDigest
        ? {
            version,
            inferenceId: id,
            outcome,
            receipt,
            receiptDigest: receiptDigest(receipt),
            quorum: round.quorum,
            committee: round.committee.map((m) => m.address),
            verdicts,
            verdictsDigest: round.verdictsDigest,
            decidedAt: round.decidedAt ?? 0,
            // Recomputed, not taken from the answer: verifyRecord's leaf check decides.
            ...(version === 2 ? roundStrength({ outcome, verdicts }) : {}),
          }
        : null,
    settlement: settled?.data
      ? {
          chainId: settled.data.chainId,
          ledger: settled.data.contract,
          batchId: settled.data.batchId,
          root: settled.data.root,
          leafHash: settled.data.leaf.hash,
          proof: settled.data.proof,
          transactionHash: settled.data.transactionHash,
          blockNumber: settled.data.blockNumber,
        }
      : null,
  });
  if (!record.success) return malformed("the record", record.error);
  return { ok: true, record: record.data };
}

function malformed(what: string, error: z.ZodError): RecordFromGateway {
  const issue = error.issues[0];
  return {
    ok: false,
    reason: "malformed_answer",
    message: `${what}: ${(issue?.path ?? []).join(".") || "(root)"}: ${issue?.message ?? "invalid"}`,
  };
}
