import type { Hex } from "viem";
import { z } from "zod";
import { hashCanonical } from "./canonical";
import { InferenceId } from "./inference-id";
import { LEAF_OUTCOME, type LeafValues } from "./merkle-leaf";
import { Bytes32, ChecksumAddress, Receipt } from "./receipt";
import { Verdict } from "./verdict";

/**
 * What a decided round sends to the `verified-inferences` queue: everything the settlement
 * layer needs to build the record's Merkle leaf and to check, without trusting the coordinator,
 * that a quorum of verifiers signed the outcome.
 */
export const RoundOutcome = z.strictObject({
  version: z.literal(1),
  inferenceId: InferenceId,
  outcome: z.enum(["verified", "rejected"]),
  receipt: Receipt,
  receiptDigest: Bytes32,
  quorum: z.number().int().positive(),
  committee: z.array(ChecksumAddress),
  verdicts: z.array(Verdict),
  verdictsDigest: Bytes32,
  decidedAt: z.number().int().nonnegative(),
});
export type RoundOutcome = z.infer<typeof RoundOutcome>;

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
  return {
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
