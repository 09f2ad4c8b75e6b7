import { type Address, type Hex, hashTypedData, type LocalAccount } from "viem";
import { type ZodError, z } from "zod";
import { hashCanonical, JsonString } from "./canonical";
import { InferenceId } from "./inference-id";
import {
  Bytes32,
  ChecksumAddress,
  RECEIPT_DOMAIN,
  RECEIPT_DOMAIN_V2,
  SignatureHex,
} from "./receipt";
import { recoverSigner } from "./recover-signer";
import { STRENGTH_CODES, StrengthScore, VerificationStrength } from "./verification-strength";

/** The EIP-712 types of a verdict, signed under `RECEIPT_DOMAIN`; the primary type is `Verdict`. */
export const VERDICT_TYPES = {
  Verdict: [
    { name: "inferenceId", type: "string" },
    { name: "receiptDigest", type: "bytes32" },
    { name: "outcome", type: "uint8" },
    { name: "checksDigest", type: "bytes32" },
    { name: "policyHash", type: "bytes32" },
  ],
} as const;

/**
 * The EIP-712 types of a version-2 verdict, signed under `RECEIPT_DOMAIN_V2`: version 1's
 * fields, then the strength that protocol v2 reserves (see verification-strength.ts).
 */
export const VERDICT_TYPES_V2 = {
  Verdict: [
    ...VERDICT_TYPES.Verdict,
    { name: "strength", type: "uint8" },
    { name: "strengthScore", type: "uint16" },
  ],
} as const;

/** What a verifier concluded about a receipt's claim. */
export const VerdictOutcome = z.enum(["valid", "invalid", "abstain"]);
export type VerdictOutcome = z.infer<typeof VerdictOutcome>;

/** The `uint8` each outcome is signed as. 0 is unused, so a zeroed field is never a verdict. */
export const VERDICT_OUTCOME_CODES = { valid: 1, invalid: 2, abstain: 3 } as const satisfies Record<
  VerdictOutcome,
  number
>;

/** The result of one check: `check` is a versioned name (`rules@1`), `reason` a snake_case code. */
export const CheckResult = z.strictObject({
  check: JsonString.regex(/^[a-z0-9-]+@[1-9][0-9]*$/, "must be a versioned check name (name@1)"),
  status: z.enum(["pass", "fail", "skip"]),
  reason: JsonString.regex(/^[a-z0-9_]+$/, "must be a snake_case reason code"),
});
export type CheckResult = z.infer<typeof CheckResult>;

/**
 * The `skip` reasons that mean a check was needed but could not be made, so the verifier
 * abstains rather than guess: a model it does not know, or a deterministic model it could not run.
 */
export const UNVERIFIABLE_REASONS: readonly string[] = ["model_unknown", "model_unavailable"];

/** Any failed check makes a verdict invalid; else a check that could not be made abstains. */
export function verdictOutcome(checks: readonly CheckResult[]): VerdictOutcome {
  if (checks.some((c) => c.status === "fail")) return "invalid";
  if (checks.some((c) => c.status === "skip" && UNVERIFIABLE_REASONS.includes(c.reason))) {
    return "abstain";
  }
  return "valid";
}

/** What a verdict's `checksDigest` must be: `hashCanonical(checks)`. */
export function checksDigest(checks: readonly CheckResult[]): Hex {
  return hashCanonical(checks);
}

const verdictFields = {
  inferenceId: InferenceId,
  /** The EIP-712 digest of the receipt judged (`receiptDigest(receipt)`). */
  receiptDigest: Bytes32,
  outcome: VerdictOutcome,
  checks: z.array(CheckResult).min(1),
  checksDigest: Bytes32,
  /** The `policyHash` of the policy the checks applied. */
  policyHash: Bytes32,
  verifier: ChecksumAddress,
};

/** A version-1 verdict before signing. `checksDigest` is `checksDigest(checks)`. */
export const UnsignedVerdictV1 = z.strictObject({ version: z.literal(1), ...verdictFields });
/** A version-2 verdict before signing: version 1's fields and how strong the checks were. */
export const UnsignedVerdictV2 = z.strictObject({
  version: z.literal(2),
  ...verdictFields,
  strength: VerificationStrength,
  strengthScore: StrengthScore,
});
export type UnsignedVerdictV1 = z.infer<typeof UnsignedVerdictV1>;
export type UnsignedVerdictV2 = z.infer<typeof UnsignedVerdictV2>;

/** A verdict before signing, of either version; new verdicts are version 2. */
export const UnsignedVerdict = z.discriminatedUnion("version", [
  UnsignedVerdictV1,
  UnsignedVerdictV2,
]);
export type UnsignedVerdict = z.infer<typeof UnsignedVerdict>;

/** The JSON form of a signed verdict. */
export const Verdict = z.discriminatedUnion("version", [
  UnsignedVerdictV1.extend({ signature: SignatureHex }),
  UnsignedVerdictV2.extend({ signature: SignatureHex }),
]);
export type Verdict = z.infer<typeof Verdict>;

const messageV1 = (verdict: UnsignedVerdict) => ({
  inferenceId: verdict.inferenceId,
  receiptDigest: verdict.receiptDigest,
  outcome: VERDICT_OUTCOME_CODES[verdict.outcome],
  checksDigest: verdict.checksDigest,
  policyHash: verdict.policyHash,
});

/** The EIP-712 domain, types and message of a version-1 verdict, as `signTypedData` takes them. */
export const verdictTypedDataV1 = (verdict: UnsignedVerdictV1) => ({
  domain: RECEIPT_DOMAIN,
  types: VERDICT_TYPES,
  primaryType: "Verdict" as const,
  message: messageV1(verdict),
});

/** The EIP-712 domain, types and message of a version-2 verdict. */
export const verdictTypedDataV2 = (verdict: UnsignedVerdictV2) => ({
  domain: RECEIPT_DOMAIN_V2,
  types: VERDICT_TYPES_V2,
  primaryType: "Verdict" as const,
  message: {
    ...messageV1(verdict),
    strength: STRENGTH_CODES[verdict.strength],
    strengthScore: verdict.strengthScore,
  },
});

/** The EIP-712 typed-data hash of a verdict: what its verifier signs. */
export function verdictDigest(verdict: UnsignedVerdict): Hex {
  return verdict.version === 1
    ? hashTypedData(verdictTypedDataV1(verdict))
    : hashTypedData(verdictTypedDataV2(verdict));
}

/**
 * Signs a verdict with the verifier's key. `unsigned.verifier` must be `account.address`
 * and `unsigned.checksDigest` must be `hashCanonical(unsigned.checks)`.
 *
 * @throws if the verdict is malformed or inconsistent: a bug in the caller.
 */
export async function signVerdict(
  unsigned: UnsignedVerdict,
  account: LocalAccount,
): Promise<Verdict> {
  const parsed = UnsignedVerdict.parse(unsigned);
  if (parsed.verifier !== account.address) {
    throw new Error(
      `verdict verifier ${parsed.verifier} is not the signing account ${account.address}`,
    );
  }
  const expected = checksDigest(parsed.checks);
  if (parsed.checksDigest !== expected) {
    throw new Error(`verdict checksDigest ${parsed.checksDigest} is not ${expected}`);
  }
  const signature =
    parsed.version === 1
      ? await account.signTypedData(verdictTypedDataV1(parsed))
      : await account.signTypedData(verdictTypedDataV2(parsed));
  return { ...parsed, signature };
}

/** Why a verdict was refused, in the order the checks run. */
export type VerdictFailureReason =
  /** Not a well-formed verdict of a known version. */
  | "malformed"
  /** `checksDigest` is not the hash of `checks`: the checks were altered. */
  | "checks_digest_mismatch"
  /** The signature is not a canonical (low-s, v 27/28) signature of any key. */
  | "bad_signature"
  /** The signature recovers to an address other than `verdict.verifier`. */
  | "signer_mismatch";

export type VerdictVerification =
  | { ok: true; signer: Address; digest: Hex; verdict: Verdict }
  | { ok: false; reason: VerdictFailureReason; message: string };

export type VerdictRecovery =
  | { ok: true; signer: Address; digest: Hex; verdict: Verdict }
  | { ok: false; reason: Exclude<VerdictFailureReason, "signer_mismatch">; message: string };

const describe = (error: ZodError) => {
  const issue = error.issues[0];
  return `${["verdict", ...(issue?.path ?? []).map(String)].join(".")}: ${issue?.message ?? "invalid"}`;
};

/**
 * The address that signed `verdict`, after checking its shape and that `checksDigest` commits
 * to its `checks`. It does not compare the signer with `verdict.verifier`: the caller does (or
 * uses `verifyVerdict`), and also checks that the verifier is a committee member and that
 * `receiptDigest` and `policyHash` are the expected ones. Never throws.
 */
export async function recoverVerdictSigner(verdict: unknown): Promise<VerdictRecovery> {
  const parsed = Verdict.safeParse(verdict);
  if (!parsed.success) return { ok: false, reason: "malformed", message: describe(parsed.error) };
  const v = parsed.data;
  const expected = checksDigest(v.checks);
  if (expected !== v.checksDigest) {
    return {
      ok: false,
      reason: "checks_digest_mismatch",
      message: `checks hash to ${expected}, verdict says ${v.checksDigest}`,
    };
  }
  const digest = verdictDigest(v);
  const recovered = await recoverSigner(digest, v.signature);
  if (!recovered.ok) {
    return { ok: false, reason: "bad_signature", message: `signature: ${recovered.message}` };
  }
  return { ok: true, signer: recovered.signer, digest, verdict: v };
}

/**
 * Checks a verdict's shape, that `checksDigest` commits to its `checks`, and that it is signed
 * by its `verifier`. Never throws: every failure is `{ ok: false, reason }`, as with
 * `verifyReceipt`. Whether the verifier may vote, and on what, is for the caller to judge;
 * it may also compare `outcome` with `verdictOutcome(checks)`.
 */
export async function verifyVerdict(verdict: unknown): Promise<VerdictVerification> {
  const result = await recoverVerdictSigner(verdict);
  if (!result.ok || result.signer === result.verdict.verifier) return result;
  return {
    ok: false,
    reason: "signer_mismatch",
    message: `signature recovers to ${result.signer}, not to verifier ${result.verdict.verifier}`,
  };
}
