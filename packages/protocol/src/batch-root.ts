import type { Hex } from "viem";
import { leafHash } from "./merkle-leaf";
import { buildMerkleTree } from "./merkle-tree";
import { leafFromOutcome, type RoundOutcome } from "./round-outcome";

/**
 * The root of `StandardMerkleTree.of(outcomes.map((o) => leafTuple(leafFromOutcome(o))),
 * LEAF_TYPES)` (default options: leaves sorted by hash), which is what a settler commits: the
 * tree of viem's `leafHash`es, which gives the same root (the tests pin this) without the
 * library's slower ABI encoder.
 *
 * @throws ZodError if an outcome makes a malformed leaf: outcomes that parsed as `RoundOutcome`
 * never do.
 */
export function batchRoot(outcomes: readonly RoundOutcome[]): Hex {
  return buildMerkleTree(outcomes.map((o) => leafHash(leafFromOutcome(o)))).root;
}
