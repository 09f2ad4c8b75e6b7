import { type Address, getAddress } from "viem";
import { receiptDigest } from "./receipt";
import {
  AGREEING_VERDICT,
  type RoundOutcome,
  roundStrength,
  verdictsDigest,
} from "./round-outcome";
import { verifyVerdict } from "./verdict";
import { verifyReceipt } from "./verify-receipt";

/** Why a decided round does not hold, in the order the checks run. */
export type RoundOutcomeFailureReason =
  /** The receipt is for another inference, not signed by its node, or not what `receiptDigest` says. */
  | "bad_receipt"
  /** The receipt is signed by a node the checker does not trust. */
  | "unknown_node"
  /** `verdictsDigest` does not commit to the verdicts. */
  | "verdicts_digest_mismatch"
  /** A verdict is about another inference or receipt, or not signed by the verifier it names. */
  | "bad_verdict"
  /** A version-2 outcome claims another strength than its agreeing verdicts give. */
  | "strength_mismatch"
  /** The outcome is of an older version than its receipt or a verdict (it would settle short). */
  | "version_downgrade"
  /** Too few distinct registered verifiers signed a verdict agreeing with the outcome. */
  | "insufficient_quorum";

export interface RoundOutcomeFailure {
  ok: false;
  reason: RoundOutcomeFailureReason;
  message: string;
  /** The field at fault, as a dotted path within the outcome (`verdicts.1`). */
  path: string;
}

export type RoundOutcomeCheck = { ok: true; agreeing: Address[] } | RoundOutcomeFailure;

export interface RoundOutcomeCheckOptions {
  /** The inference nodes whose receipts are trusted. */
  trustedNodes: readonly Address[];
  /** Whether a verifier is registered (on-chain) and so may count towards the quorum. */
  isRegistered: (verifier: Address) => boolean | Promise<boolean>;
  /** How many distinct registered verifiers must have signed a verdict agreeing with the outcome. */
  quorum: number;
}

const fail = (
  reason: RoundOutcomeFailureReason,
  message: string,
  path: string,
): RoundOutcomeFailure => ({ ok: false, reason, message, path });

/**
 * The outcome's own fields against its receipt: the receipt is this inference's, `receiptDigest`
 * is its digest, and the outcome is of no older a version than its receipt and verdicts. The last
 * stops a downgrade: relabelled version 1, a round of version-2 messages would settle as a
 * version-1 leaf, which leaves out the receipt's fee and model digest and the round's strength.
 */
export function checkOutcomeReceipt(outcome: RoundOutcome): RoundOutcomeFailure | null {
  const id = outcome.inferenceId;
  if (outcome.receipt.inferenceId !== id) {
    return fail(
      "bad_receipt",
      `Inference ${id}: its receipt is for inference ${outcome.receipt.inferenceId}.`,
      "receipt.inferenceId",
    );
  }
  const digest = receiptDigest(outcome.receipt);
  if (digest !== outcome.receiptDigest) {
    return fail(
      "bad_receipt",
      `Inference ${id}: the receipt's digest is ${digest}, the outcome says ${outcome.receiptDigest}.`,
      "receiptDigest",
    );
  }
  const newest = Math.max(outcome.receipt.version, ...outcome.verdicts.map((v) => v.version));
  if (outcome.version < newest) {
    return fail(
      "version_downgrade",
      `Inference ${id}: a version-${outcome.version} outcome of version-${newest} messages.`,
      "version",
    );
  }
  return null;
}

/** A version-2 outcome's strength is `roundStrength` of its verdicts. */
export function checkOutcomeStrength(outcome: RoundOutcome): RoundOutcomeFailure | null {
  if (outcome.version !== 2) return null;
  const { strength, strengthScore } = roundStrength(outcome);
  if (strength === outcome.strength && strengthScore === outcome.strengthScore) return null;
  return fail(
    "strength_mismatch",
    `Inference ${outcome.inferenceId}: its agreeing verdicts give strength ${strength} (${strengthScore}), the outcome says ${outcome.strength} (${outcome.strengthScore}).`,
    "strength",
  );
}

/** `verdictsDigest` commits to the verdicts, and every verdict is about this receipt. */
export function checkOutcomeVerdicts(outcome: RoundOutcome): RoundOutcomeFailure | null {
  const id = outcome.inferenceId;
  const committed = verdictsDigest(outcome.verdicts);
  if (committed !== outcome.verdictsDigest) {
    return fail(
      "verdicts_digest_mismatch",
      `Inference ${id}: the verdicts hash to ${committed}, the outcome says ${outcome.verdictsDigest}.`,
      "verdictsDigest",
    );
  }
  for (const [j, verdict] of outcome.verdicts.entries()) {
    if (verdict.inferenceId !== id || verdict.receiptDigest !== outcome.receiptDigest) {
      return fail(
        "bad_verdict",
        `Inference ${id}: verdict ${j} (by ${verdict.verifier}) is about another inference or receipt.`,
        `verdicts.${j}`,
      );
    }
  }
  return null;
}

/**
 * The checks that need no key and no registry, first failure first: `checkOutcomeReceipt`,
 * `checkOutcomeStrength`, `checkOutcomeVerdicts`. Null when they hold. A settler runs them on
 * arrival; without them every co-signer would refuse the batch the outcome landed in.
 */
export function checkOutcomeDigests(outcome: RoundOutcome): RoundOutcomeFailure | null {
  return (
    checkOutcomeReceipt(outcome) ?? checkOutcomeStrength(outcome) ?? checkOutcomeVerdicts(outcome)
  );
}

/**
 * The distinct verifiers, checksummed, whose verdicts agree with the outcome and whom
 * `isRegistered` holds. Signatures are not checked here: `checkRoundOutcome` does that first.
 */
export async function registeredAgreeing(
  outcome: RoundOutcome,
  isRegistered: RoundOutcomeCheckOptions["isRegistered"],
): Promise<Address[]> {
  const wanted = AGREEING_VERDICT[outcome.outcome];
  const agreeing = new Set(
    outcome.verdicts.filter((v) => v.outcome === wanted).map((v) => getAddress(v.verifier)),
  );
  const registered: Address[] = [];
  for (const verifier of agreeing) if (await isRegistered(verifier)) registered.push(verifier);
  return registered;
}

/**
 * Checks, trusting no one who passed it on, that a decided round holds: the receipt's signature
 * by a trusted node, the digests (`checkOutcomeDigests`), every verdict's signature
 * by the verifier it names, and a quorum of distinct registered verifiers agreeing with the
 * outcome. Verdicts of unregistered verifiers, dissent and abstentions may be present; they do
 * not count. Never throws.
 */
export async function checkRoundOutcome(
  outcome: RoundOutcome,
  options: RoundOutcomeCheckOptions,
): Promise<RoundOutcomeCheck> {
  const id = outcome.inferenceId;
  // The receipt's own signature first: an altered receipt is reported as such, not as a digest
  // that no longer matches it.
  const receipt = await verifyReceipt(outcome.receipt, { trustedNodes: options.trustedNodes });
  if (!receipt.ok) {
    return fail(
      receipt.reason === "untrusted_node" ? "unknown_node" : "bad_receipt",
      `Inference ${id}: receipt refused (${receipt.reason}): ${receipt.message}.`,
      "receipt",
    );
  }
  const digests = checkOutcomeDigests(outcome);
  if (digests) return digests;
  for (const [j, verdict] of outcome.verdicts.entries()) {
    const checked = await verifyVerdict(verdict);
    if (!checked.ok) {
      return fail(
        "bad_verdict",
        `Inference ${id}: verdict ${j} (by ${verdict.verifier}) refused (${checked.reason}): ${checked.message}.`,
        `verdicts.${j}`,
      );
    }
  }
  const agreeing = await registeredAgreeing(outcome, options.isRegistered);
  if (agreeing.length < options.quorum) {
    const wanted = AGREEING_VERDICT[outcome.outcome];
    return fail(
      "insufficient_quorum",
      `Inference ${id} is ${outcome.outcome}, but only ${agreeing.length} registered verifier(s) signed a '${wanted}' verdict for it; ${options.quorum} are needed.`,
      "",
    );
  }
  return { ok: true, agreeing };
}
