import { z } from "zod";

/**
 * How strong a verification was: a label, ordered weakest first, and a score in basis points
 * (0 to 10,000). Protocol v2 reserves both in verdicts, round outcomes and leaves. Only `unset`
 * exists until the verification-strength issue defines the labels (exact re-execution, semantic
 * re-execution, integrity only); a version-1 verdict counts as `unset`.
 */
export const VerificationStrength = z.enum(["unset"]);
export type VerificationStrength = z.infer<typeof VerificationStrength>;

/** The `uint8` each label is signed and settled as; `unset` is 0, so a zeroed field means it. */
export const STRENGTH_CODES = { unset: 0 } as const satisfies Record<VerificationStrength, number>;

/** A strength score in basis points; 0 while the label is `unset`. */
export const StrengthScore = z.int().min(0).max(10_000);

export interface Strength {
  strength: VerificationStrength;
  strengthScore: number;
}

/** What a field reserved for strength carries until it is filled. */
export const UNSET_STRENGTH: Strength = { strength: "unset", strengthScore: 0 };

/**
 * A round's strength: its weakest agreeing verdict's, at the lowest score among those of that
 * label, so a decision never claims more than every vote behind it. A version-1 verdict (no
 * strength) or no verdict at all gives `unset`.
 */
export function weakestStrength(verdicts: readonly Partial<Strength>[]): Strength {
  const order = VerificationStrength.options;
  let weakest: Strength | undefined;
  for (const v of verdicts) {
    if (v.strength === undefined || v.strengthScore === undefined) return UNSET_STRENGTH;
    const candidate = { strength: v.strength, strengthScore: v.strengthScore };
    if (
      !weakest ||
      order.indexOf(candidate.strength) < order.indexOf(weakest.strength) ||
      (candidate.strength === weakest.strength && candidate.strengthScore < weakest.strengthScore)
    ) {
      weakest = candidate;
    }
  }
  return weakest ?? UNSET_STRENGTH;
}
