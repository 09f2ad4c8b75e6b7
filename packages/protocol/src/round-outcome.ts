import type { Hex } from "viem";
import { z } from "zod";
import { hashCanonical } from "./canonical";
import { InferenceId } from "./inference-id";
import { LEAF_OUTCOME, type LeafValues } from "./merkle-leaf";
import { Bytes32, ChecksumAddress, Receipt, UNSET_FEE, UNSET_MODEL_DIGEST } from "./receipt";
import { Verdict } from "./verdict";
import {
  type Strength,
  StrengthScore,
  VerificationStrength,
  weakestStrength,
} from "./verification-strength";

/**
 * What a decided round sends to the `verified-inferences` queue: everything the settlement
 * layer needs to build the record's Merkle leaf and to check, without trusting the coordinator,
 * that a quorum of verifiers signed the outcome.
 */
const outcomeFields = {
  inferenceId: InferenceId,
  outcome: z.enum(["verified", "rejected"]),
  receipt: Receipt,
  receiptDigest: Bytes32,
  quorum: z.number().int().positive(),
  committee: z.array(ChecksumAddress),
  verdicts: z.array(Verdict),
  verdictsDigest: Bytes32,
  decidedAt: z.number().int().nonnegative(),
};

/** A version-1 outcome: it settles as a version-1 leaf. */
export const RoundOutcomeV1 = z.strictObject({ version: z.literal(1), ...outcomeFields });
/**
 * A version-2 outcome: version 1's fields and the round's strength (`roundStrength`); it settles
 * as a version-2 leaf. Its receipt and verdicts may be of either version.
 */
export const RoundOutcomeV2 = z.strictObject({
  version: z.literal(2),
  ...outcomeFields,
  strength: VerificationStrength,
  strengthScore: StrengthScore,
});

export const RoundOutcome = z.discriminatedUnion("version", [RoundOutcomeV1, RoundOutcomeV2]);
export type RoundOutcome = z.infer<typeof RoundOutcome>;

/** The verdict that agrees with a decision: `valid` for verified, `invalid` for rejected. */
export const AGREEING_VERDICT = { verified: "valid", rejected: "invalid" } as const;

/**
 * What a version-2 outcome's strength must be: the weakest of the verdicts that agree with the
 * decision (`weakestStrength`). Derived from the signed verdicts alone, so that settlers and
 * co-signers recompute it rather than take the coordinator's word.
 */
export function roundStrength(outcome: Pick<RoundOutcome, "outcome" | "verdicts">): Strength {
  const wanted = AGREEING_VERDICT[outcome.outcome];
  return weakestStrength(
    outcome.verdicts.filter((v) => v.outcome === wanted).map((v) => (v.version === 1 ? {} : v)),
  );
}

/**
 * Commits to a round's verdicts: `hashCanonical` of `[{ verifier, outcome, signature }]`, with
 * verifier addresses lowercased and the list sorted by them, so the order votes arrived in
 * does not matter.
 */
export function verdictsDigest(
  verdicts: readonly Pick<Verdict, "verifier" | "outcome" | "signature">[],
): Hex {
  const entries = verdicts
    .map((v) => ({
      verifier: v.verifier.toLowerCase(),
      outcome: v.outcome,
      signature: v.signature.toLowerCase(),
    }))
    .sort((a, b) => (a.verifier < b.verifier ? -1 : a.verifier > b.verifier ? 1 : 0));
  return hashCanonical(entries);
}

/**
 * The settlement leaf of a decided round. Settlers and co-signing verifiers both derive it
 * from the queue message with this one function, so they agree on every leaf bit for bit.
 */
export function leafFromOutcome(outcome: RoundOutcome): LeafValues {
  if (outcome.version === 2) {
    const receipt = outcome.receipt;
    return {
      version: 2,
      inferenceId: outcome.inferenceId,
      receiptDigest: outcome.receiptDigest,
      inferenceNode: receipt.node,
      outcome: LEAF_OUTCOME[outcome.outcome],
      verdictsDigest: outcome.verdictsDigest,
      modelDigest: receipt.version === 2 ? receipt.modelDigest : UNSET_MODEL_DIGEST,
      strength: outcome.strength,
      strengthScore: outcome.strengthScore,
      fee: receipt.version === 2 ? receipt.fee : UNSET_FEE,
    };
  }
  return {
    version: 1,
    inferenceId: outcome.inferenceId,
    requestHash: outcome.receipt.requestHash,
    responseHash: outcome.receipt.responseHash,
    model: outcome.receipt.model,
    inferenceNode: outcome.receipt.node,
    outcome: LEAF_OUTCOME[outcome.outcome],
    verdictsDigest: outcome.verdictsDigest,
    createdAt: outcome.receipt.createdAt,
  };
}
