import { refusal, type VerityError } from "../../errors";

/** Why a co-signing request was refused; each is counted. */
export const BATCH_REFUSALS = [
  "malformed_proposal",
  "bad_proposal_signature",
  "not_the_settler",
  "proposal_mismatch",
  "malformed",
  "unsupported_media_type",
  "too_large",
  "chain_mismatch",
  "unknown_ledger",
  "count_mismatch",
  "duplicate_inference",
  "root_mismatch",
  "bad_receipt",
  "unknown_node",
  "verdicts_digest_mismatch",
  "strength_mismatch",
  "version_downgrade",
  "bad_verdict",
  "insufficient_quorum",
  "batch_id_reused",
  "already_cosigned",
  "registry_unavailable",
  "fault_mode_refused",
] as const;
export type BatchRefusal = (typeof BATCH_REFUSALS)[number];

export const isBatchRefusal = (code: string): code is BatchRefusal =>
  (BATCH_REFUSALS as readonly string[]).includes(code);

const STATUS = {
  malformed_proposal: 401,
  bad_proposal_signature: 401,
  not_the_settler: 403,
  proposal_mismatch: 400,
  malformed: 400,
  unsupported_media_type: 415,
  too_large: 413,
  chain_mismatch: 409,
  unknown_ledger: 409,
  count_mismatch: 409,
  duplicate_inference: 409,
  root_mismatch: 409,
  bad_receipt: 409,
  unknown_node: 409,
  verdicts_digest_mismatch: 409,
  strength_mismatch: 409,
  version_downgrade: 409,
  bad_verdict: 409,
  insufficient_quorum: 409,
  batch_id_reused: 409,
  already_cosigned: 409,
  registry_unavailable: 503,
  fault_mode_refused: 409,
} as const satisfies Record<BatchRefusal, number>;

/**
 * The error a refused co-signing request is answered with: its `code` is the reason, its status
 * says what the settler should do — 401/403 a request the registered settler did not propose
 * (nothing of it was read), 400/413/415 a malformed request (a bug in the settler), 409 a
 * well-formed batch this verifier will not sign as it stands (`param` names the outcome at fault,
 * `outcomes.<i>`: drop or fix it and ask again), 503 `registry_unavailable` an RPC outage that
 * keeps the verifier from reading the on-chain registry (retry later; the batch may be fine).
 */
export function batchRefusal(
  reason: BatchRefusal,
  message: string,
  param: string | null = null,
  cause?: unknown,
): VerityError {
  return refusal(STATUS[reason], reason, message, { param, cause });
}
