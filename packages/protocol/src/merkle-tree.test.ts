import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { type Hex, keccak256, numberToHex } from "viem";
import { describe, expect, it } from "vitest";
import { buildMerkleTree } from "./merkle-tree";

const hashAt = (i: number): Hex => keccak256(numberToHex(i));

describe("buildMerkleTree", () => {
  it.each([1, 2, 3, 4, 5, 16, 17, 100])(
    "equals SimpleMerkleTree.of for %i leaves: root, every node, and where each leaf went",
    (n) => {
      const leaves = Array.from({ length: n }, (_, i) => hashAt(i));
      const tree = buildMerkleTree(leaves);
      const reference = SimpleMerkleTree.of(leaves);
      expect(tree.root).toBe(reference.root);
      expect(tree.nodes).toEqual(reference.dump().tree);
      expect(tree.treeIndices).toEqual(reference.dump().values.map((v) => v.treeIndex));
    },
  );

  it("places duplicate leaves as the library does, and reads upper-case hex as its bytes", () => {
    const leaves = [hashAt(3), hashAt(1), hashAt(3), hashAt(2), hashAt(1)];
    const reference = SimpleMerkleTree.of(leaves);
    const tree = buildMerkleTree(leaves.map((h) => `0x${h.slice(2).toUpperCase()}` as Hex));
    expect(tree.nodes).toEqual(reference.dump().tree);
    expect(tree.treeIndices).toEqual(reference.dump().values.map((v) => v.treeIndex));
  });

  it("refuses no leaves, and a leaf that is not 32 bytes", () => {
    expect(() => buildMerkleTree([])).toThrow(/at least one leaf/);
    expect(() => buildMerkleTree([hashAt(1), "0x1234"])).toThrow(/not a 32-byte leaf hash/);
  });
});
