import { type Address, concatHex, getAddress, type Hex, toHex } from "viem";
import { keccak256 } from "./keccak256";

/**
 * Orders candidate verifiers for an inference: ascending by
 * `keccak256(utf8(inferenceId) ‖ address)`, address bytes as 20 raw bytes. The first `size`
 * form the committee and the rest, in order, are its replacements. Anyone holding the same
 * registry can recompute the committee; no party chooses it.
 */
export function rankVerifiers<T extends { address: string }>(
  inferenceId: string,
  candidates: readonly T[],
): T[] {
  const scored = candidates.map((candidate) => ({
    candidate,
    score: committeeScore(inferenceId, getAddress(candidate.address)),
  }));
  scored.sort((a, b) => (a.score < b.score ? -1 : a.score > b.score ? 1 : 0));
  return scored.map((s) => s.candidate);
}

/** The sort key of one verifier for one inference. */
export const committeeScore = (inferenceId: string, address: Address): Hex =>
  keccak256(concatHex([toHex(inferenceId), address.toLowerCase() as Hex]));
