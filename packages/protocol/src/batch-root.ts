import type { Hex } from "viem";
import { leafHash } from "./merkle-leaf";
import { buildMerkleTree } from "./merkle-tree";
import { leafFromOutcome, type RoundOutcome } from "./round-outcome";

/**
 * The root of `SimpleMerkleTree.of(outcomes.map((o) => leafHash(leafFromOutcome(o))))` (default
 * options: leaves sorted by hash), which is what a settler commits. Leaves may be of either
 * version; for leaves of one version it is also `StandardMerkleTree.of(tuples, types)`'s root.
 *
 * @throws ZodError if an outcome makes a malformed leaf: outcomes that parsed as `RoundOutcome`
 * never do.
 */
export function batchRoot(outcomes: readonly RoundOutcome[]): Hex {
  return buildMerkleTree(outcomes.map((o) => leafHash(leafFromOutcome(o)))).root;
}
