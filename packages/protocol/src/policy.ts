import { type Address, getAddress, type Hex } from "viem";
import { z } from "zod";
import { hashCanonical, JsonString } from "./canonical";
import { ChecksumAddress } from "./receipt";

/** The checks a verifier runs, each named and versioned: a new version is a new name. */
export const CHECKS = {
  receiptIntegrity: "receipt-integrity@1",
  rules: "rules@1",
  /**
   * That the earlier record a request continues (`previous_response`) holds and is continued.
   * It runs only on such a request, so other verdicts keep their three results.
   */
  history: "history@1",
  reExecution: "re-execution@1",
} as const;
export type CheckName = (typeof CHECKS)[keyof typeof CHECKS];

/** Deny-list patterns are JavaScript regular expressions, always compiled with these flags. */
export const DENY_PATTERN_FLAGS = "iu";

/** The embedding cosine threshold verifiers use unless configured otherwise. */
export const DEFAULT_EMBEDDING_MIN_COSINE = 0.9999;

const DenyPattern = JsonString.min(1).refine((source) => {
  try {
    new RegExp(source, DENY_PATTERN_FLAGS);
    return true;
  } catch {
    return false;
  }
}, `must be a valid regular expression with flags "${DENY_PATTERN_FLAGS}"`);

/**
 * Everything that decides a verdict besides the task itself. Two verifiers with the same
 * policy (the same `policyHash`) reach the same verdict on the same task, except that one
 * that cannot re-execute a deterministic model abstains.
 */
export const VerificationPolicy = z.strictObject({
  version: z.literal(1),
  /**
   * The checks, in the order they run. A policy from before `history@1` lists the other three:
   * it still parses (heartbeats and test vectors carry such policies), and its hash differs, so
   * a coordinator can tell a verifier that checks histories from one that does not.
   */
  checks: z.union([
    z.tuple([
      z.literal(CHECKS.receiptIntegrity),
      z.literal(CHECKS.rules),
      z.literal(CHECKS.history),
      z.literal(CHECKS.reExecution),
    ]),
    z.tuple([
      z.literal(CHECKS.receiptIntegrity),
      z.literal(CHECKS.rules),
      z.literal(CHECKS.reExecution),
    ]),
  ]),
  receiptIntegrity: z.strictObject({
    /** The inference nodes whose receipts are accepted, sorted by lowercase address. */
    inferenceNodes: z.array(ChecksumAddress),
  }),
  rules: z.strictObject({
    /** The most Unicode code points a chat answer may have. */
    maxResponseChars: z.int().min(1),
    /** Sorted, without duplicates; an answer matching any of them fails. */
    denyPatterns: z.array(DenyPattern),
    denyPatternFlags: z.literal(DENY_PATTERN_FLAGS),
  }),
  reExecution: z.strictObject({
    /** Chat answers of deterministic models must hash to the receipt's responseHash. */
    text: z.literal("exact-response-hash"),
    /** Each re-computed embedding must have at least this cosine similarity to the claimed one. */
    embeddingMinCosine: z.number().min(-1).max(1),
  }),
});
export type VerificationPolicy = z.infer<typeof VerificationPolicy>;

export interface VerificationPolicyOptions {
  inferenceNodes: readonly string[];
  maxResponseChars: number;
  denyPatterns: readonly string[];
  embeddingMinCosine?: number;
}

/**
 * Builds the policy in its canonical form: nodes checksummed, deduplicated and sorted, deny
 * patterns deduplicated and sorted, so that equal configurations give equal `policyHash`es.
 *
 * @throws ZodError if an address, pattern or number is invalid: the configuration is wrong.
 */
export function createVerificationPolicy(options: VerificationPolicyOptions): VerificationPolicy {
  const nodes = [...new Set(options.inferenceNodes.map((a) => a.toLowerCase()))].sort();
  return VerificationPolicy.parse({
    version: 1,
    checks: [CHECKS.receiptIntegrity, CHECKS.rules, CHECKS.history, CHECKS.reExecution],
    receiptIntegrity: {
      inferenceNodes: nodes.map((a) =>
        /^0x[0-9a-f]{40}$/.test(a) ? getAddress(a) : (a as Address),
      ),
    },
    rules: {
      maxResponseChars: options.maxResponseChars,
      denyPatterns: [...new Set(options.denyPatterns)].sort(),
      denyPatternFlags: DENY_PATTERN_FLAGS,
    },
    reExecution: {
      text: "exact-response-hash",
      embeddingMinCosine: options.embeddingMinCosine ?? DEFAULT_EMBEDDING_MIN_COSINE,
    },
  });
}

/** keccak256 of the RFC 8785 canonical JSON of the policy: what verdicts and heartbeats commit to. */
export function policyHash(policy: VerificationPolicy): Hex {
  return hashCanonical(policy);
}
