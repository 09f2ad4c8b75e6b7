import { type Address, type Hex, hashTypedData, type LocalAccount } from "viem";
import type { z } from "zod";
import { SettlementBatchJson, settlementBatchFromJson } from "./batch-sign-request";
import { SignatureHex } from "./receipt";
import { recoverSigner } from "./recover-signer";
import { type LedgerDomain, SettlementBatch } from "./settlement-batch";

/**
 * The EIP-712 type a settler signs to propose a batch for co-signing. It is a different primary
 * type from the `Batch` verifiers sign for the ledger, so a proposal can never pass for a
 * co-signature, nor the other way round.
 */
export const BATCH_PROPOSAL_TYPES = {
  BatchProposal: [
    { name: "batchId", type: "uint64" },
    { name: "root", type: "bytes32" },
    { name: "count", type: "uint32" },
  ],
} as const;

/**
 * The HTTP header that carries a proposal on `POST /v1/batches/sign`. It travels outside the
 * body so that a verifier checks who proposes before it reads, parses or checks anything else.
 */
export const BATCH_PROPOSAL_HEADER = "verity-batch-proposal";

/** A settler's signed proposal: the batch, and its signature of `BatchProposal` over it. */
export const BatchProposal = SettlementBatchJson.extend({ signature: SignatureHex });
export type BatchProposal = z.infer<typeof BatchProposal>;

/** The EIP-712 typed data of a proposal of `batch` under the ledger's domain. */
const proposalTypedData = (batch: SettlementBatchJson, domain: LedgerDomain) =>
  ({
    domain,
    types: BATCH_PROPOSAL_TYPES,
    primaryType: "BatchProposal",
    message: SettlementBatch.parse(settlementBatchFromJson(batch)),
  }) as const;

/** The digest a settler signs to propose `batch` under the ledger's domain. */
export function batchProposalDigest(batch: SettlementBatchJson, domain: LedgerDomain): Hex {
  return hashTypedData(proposalTypedData(batch, domain));
}

/** Signs a proposal of `batch` as the settler. */
export async function signBatchProposal(
  batch: SettlementBatchJson,
  domain: LedgerDomain,
  settler: LocalAccount,
): Promise<BatchProposal> {
  const signature = await settler.signTypedData(proposalTypedData(batch, domain));
  return { batchId: batch.batchId, root: batch.root, count: batch.count, signature };
}

export type ProposalRefusal = "malformed_proposal" | "bad_proposal_signature" | "not_the_settler";

export type ProposalCheck =
  | { ok: true; batch: SettlementBatchJson }
  | { ok: false; reason: ProposalRefusal; message: string };

/**
 * Checks the proposal header's value: well-formed, signed canonically, and by `settler`. Cheap
 * (one parse of a short string, one recovery), so it runs before anything else a request asks.
 */
export async function checkBatchProposal(
  header: string | null | undefined,
  domain: LedgerDomain,
  settler: Address,
): Promise<ProposalCheck> {
  if (!header) {
    return {
      ok: false,
      reason: "malformed_proposal",
      message: `Co-signing requests must carry the settler's signed proposal in the ${BATCH_PROPOSAL_HEADER} header.`,
    };
  }
  let parsed: BatchProposal;
  try {
    const result = BatchProposal.safeParse(JSON.parse(header.slice(0, 1024)));
    if (!result.success) throw result.error;
    parsed = result.data;
  } catch {
    return {
      ok: false,
      reason: "malformed_proposal",
      message: `The ${BATCH_PROPOSAL_HEADER} header must be JSON {batchId, root, count, signature}.`,
    };
  }
  const { signature, ...batch } = parsed;
  const digest = batchProposalDigest(batch, domain);
  const recovered = await recoverSigner(digest, signature);
  if (!recovered.ok) {
    return { ok: false, reason: "bad_proposal_signature", message: recovered.message };
  }
  if (recovered.signer !== settler) {
    return {
      ok: false,
      reason: "not_the_settler",
      message: `Only the network's settler may propose batches; this one is signed by ${recovered.signer}.`,
    };
  }
  return { ok: true, batch };
}
