import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { keccak256, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { decidedRound } from "../../../test/fixtures/decided-round";
import { batchRoot } from "./batch-root";
import { LEAF_TYPES, leafTuple } from "./merkle-leaf";
import { leafFromOutcome, type RoundOutcome } from "./round-outcome";

const node = privateKeyToAccount(keccak256(stringToHex("batch root test node")));
const voter = privateKeyToAccount(keccak256(stringToHex("batch root test voter")));
/** `count` decided rounds, each with a verdict of its own, so that no two share a digest. */
const roundOutcomes = (count: number, { outcome = "verified" as RoundOutcome["outcome"] } = {}) =>
  Promise.all(
    Array.from({ length: count }, () =>
      decidedRound({
        node,
        outcome,
        votes: [[voter, outcome === "verified" ? "valid" : "invalid"]],
      }),
    ),
  );

const settlerTree = (outcomes: readonly RoundOutcome[]) =>
  StandardMerkleTree.of(
    outcomes.map((o) => leafTuple(leafFromOutcome(o))),
    LEAF_TYPES,
  );

describe("batchRoot", () => {
  it.each([1, 2, 3, 7, 16, 33])(
    "equals the root of StandardMerkleTree.of(leaves.map(leafTuple), LEAF_TYPES) for %i outcomes, as a settler builds it",
    async (count) => {
      const outcomes = [
        ...(await roundOutcomes(Math.ceil(count / 2))),
        ...(await roundOutcomes(Math.floor(count / 2), { outcome: "rejected" })),
      ];
      expect(batchRoot(outcomes)).toBe(settlerTree(outcomes).root);
    },
  );

  it("does not depend on the order of the outcomes, since the tree sorts its leaves", async () => {
    const outcomes = await roundOutcomes(5);
    expect(batchRoot([...outcomes].reverse())).toBe(batchRoot(outcomes));
  });

  it("changes when any outcome changes what its leaf commits to", async () => {
    const outcomes = await roundOutcomes(4);
    const [first, ...rest] = outcomes;
    if (!first) throw new Error("outcomes expected");
    const base = batchRoot(outcomes);
    const variants: RoundOutcome[] = [
      { ...first, outcome: "rejected" },
      { ...first, verdictsDigest: rest[0]?.verdictsDigest ?? first.verdictsDigest },
      { ...first, receipt: { ...first.receipt, createdAt: first.receipt.createdAt + 1 } },
    ];
    for (const variant of variants) {
      expect(batchRoot([variant, ...rest])).not.toBe(base);
      expect(batchRoot([variant, ...rest])).toBe(settlerTree([variant, ...rest]).root);
    }
  });
});
