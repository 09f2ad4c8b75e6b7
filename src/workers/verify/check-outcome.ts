import type { Address } from "viem";
import { VerityError } from "../../errors";
import { type RoundOutcome, verdictsDigest } from "../../protocol/round-outcome";
import { recoverVerdictSigner } from "../../protocol/verdict";
import { verifyReceipt } from "../../protocol/verify-receipt";
import { batchRefusal } from "./batch-refusal";

/** What an outcome is checked against: the verifier's own trust, and the on-chain registry's. */
export interface OutcomeCheckContext {
  /** The inference nodes whose receipts this verifier trusts (`INFERENCE_NODES`). */
  trustedNodes: readonly Address[];
  /** The verifiers registered on-chain. */
  registered: ReadonlySet<Address>;
  /** How many distinct registered verifiers must have signed the decision. */
  quorum: number;
}

const AGREEING = { verified: "valid", rejected: "invalid" } as const;

/**
 * Checks, without trusting whoever sent it, that a decided round holds: the receipt is signed by
 * a trusted inference node and `receiptDigest` is its digest; `verdictsDigest` commits to the
 * verdicts; every verdict is about this receipt and signed by the verifier it names; and at least
 * `quorum` distinct registered verifiers signed a verdict agreeing with the outcome. Verdicts of
 * unregistered verifiers, dissent and abstentions may be present; they just do not count.
 *
 * @throws VerityError 409 `bad_receipt`, `unknown_node`, `verdicts_digest_mismatch`,
 * `bad_verdict` or `insufficient_quorum`, with `param` naming the outcome (or verdict) at fault.
 */
export async function checkOutcome(
  outcome: RoundOutcome,
  index: number,
  context: OutcomeCheckContext,
): Promise<void> {
  const param = `outcomes.${index}`;
  const id = outcome.inferenceId;
  if (outcome.receipt.inferenceId !== id) {
    throw batchRefusal(
      "bad_receipt",
      `Inference ${id}: its receipt is for inference ${outcome.receipt.inferenceId}.`,
      `${param}.receipt.inferenceId`,
    );
  }
  const receipt = await verifyReceipt(outcome.receipt, { trustedNodes: context.trustedNodes });
  if (!receipt.ok) {
    throw batchRefusal(
      receipt.reason === "untrusted_node" ? "unknown_node" : "bad_receipt",
      `Inference ${id}: receipt refused (${receipt.reason}): ${receipt.message}.`,
      `${param}.receipt`,
    );
  }
  if (receipt.digest !== outcome.receiptDigest) {
    throw batchRefusal(
      "bad_receipt",
      `Inference ${id}: the receipt's digest is ${receipt.digest}, the outcome says ${outcome.receiptDigest}.`,
      `${param}.receiptDigest`,
    );
  }
  const digest = verdictsDigest(outcome.verdicts);
  if (digest !== outcome.verdictsDigest) {
    throw batchRefusal(
      "verdicts_digest_mismatch",
      `Inference ${id}: the verdicts hash to ${digest}, the outcome says ${outcome.verdictsDigest}.`,
      `${param}.verdictsDigest`,
    );
  }

  const wanted = AGREEING[outcome.outcome];
  const agreeing = new Set<Address>();
  for (const [j, verdict] of outcome.verdicts.entries()) {
    const at = `${param}.verdicts.${j}`;
    if (verdict.inferenceId !== id || verdict.receiptDigest !== outcome.receiptDigest) {
      throw batchRefusal(
        "bad_verdict",
        `Inference ${id}: verdict ${j} (by ${verdict.verifier}) is about another inference or receipt.`,
        at,
      );
    }
    let signer: Address;
    try {
      signer = await recoverVerdictSigner(verdict);
    } catch (error) {
      if (!(error instanceof VerityError)) throw error;
      throw batchRefusal("bad_verdict", `Inference ${id}: verdict ${j}: ${error.message}`, at);
    }
    if (signer !== verdict.verifier) {
      throw batchRefusal(
        "bad_verdict",
        `Inference ${id}: verdict ${j} names ${verdict.verifier} but is signed by ${signer}.`,
        at,
      );
    }
    if (verdict.outcome === wanted && context.registered.has(signer)) agreeing.add(signer);
  }
  if (agreeing.size < context.quorum) {
    throw batchRefusal(
      "insufficient_quorum",
      `Inference ${id} is ${outcome.outcome}, but only ${agreeing.size} registered verifier(s) signed a '${wanted}' verdict for it; ${context.quorum} are needed.`,
      param,
    );
  }
}
