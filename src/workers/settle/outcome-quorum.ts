import type { RoundOutcome } from "@verity/protocol";
import { registeredAgreeing } from "@verity/protocol/check-round-outcome";
import type { Address } from "viem";

export type OutcomeQuorum =
  | { ok: true }
  | { ok: false; reason: "quorum_lost"; message: string; registered: number; needed: number };

/**
 * Whether a decided round's verdicts still make a quorum of registered verifiers: agreeing
 * verdicts (`valid` for verified, `invalid` for rejected) by distinct verifiers that the
 * registry holds now, at least `max(threshold, the round's own quorum)`. Co-signers refuse a
 * batch holding a record that fails this, so the settler sets such a record aside rather than
 * batch it. Signatures are the co-signers' to check; this is only the registry's side.
 */
export async function outcomeQuorum(
  outcome: RoundOutcome,
  threshold: number,
  isRegistered: (verifier: Address) => Promise<boolean>,
): Promise<OutcomeQuorum> {
  const registered = (await registeredAgreeing(outcome, isRegistered)).length;
  const needed = Math.max(threshold, outcome.quorum);
  if (registered >= needed) return { ok: true };
  return {
    ok: false,
    reason: "quorum_lost",
    registered,
    needed,
    message: `quorum_lost: ${registered} of the ${needed} agreeing verdicts it needs are by verifiers the registry holds now`,
  };
}
