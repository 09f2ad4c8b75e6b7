import { env } from "cloudflare:workers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  LEAF_OUTCOME,
  LEAF_TYPES,
  type LeafTuple,
  tupleLeafHash,
} from "@verity/protocol/merkle-leaf";
import { proofIndices } from "@verity/protocol/merkle-tree";
import { numberToHex } from "viem";
import { describe, expect, it } from "vitest";
import { buildBatchTree, readProof, treeNodeStatements } from "./settlement-tree";

const leafAt = (i: number): LeafTuple => [
  numberToHex(i + 1, { size: 16 }),
  numberToHex(i * 2 + 1, { size: 32 }),
  numberToHex(i * 2 + 2, { size: 32 }),
  "verity-ngram-1",
  "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
  i % 3 === 0 ? LEAF_OUTCOME.rejected : LEAF_OUTCOME.verified,
  numberToHex(i + 7, { size: 32 }),
  1_767_225_600_000 + i,
];

describe("buildBatchTree", () => {
  it.each([1, 2, 3, 7, 8, 33])(
    "flattens StandardMerkleTree.of for %i leaves: root, node array and each leaf's tree index",
    (n) => {
      const leaves = Array.from({ length: n }, (_, i) => leafAt(i));
      const tree = buildBatchTree(leaves.map(tupleLeafHash));
      const reference = StandardMerkleTree.of(leaves, LEAF_TYPES);
      expect(tree.root).toBe(reference.root);
      expect(tree.nodes).toEqual(reference.dump().tree);
      for (const [i, leaf] of leaves.entries()) {
        expect(tree.nodes[tree.treeIndices[i] ?? -1]).toBe(reference.leafHash(leaf));
      }
    },
  );
});

describe("proofIndices", () => {
  it("picks the same sibling nodes as StandardMerkleTree.getProof, leaf to root", () => {
    const leaves = Array.from({ length: 13 }, (_, i) => leafAt(i));
    const tree = buildBatchTree(leaves.map(tupleLeafHash));
    const reference = StandardMerkleTree.of(leaves, LEAF_TYPES);
    for (const [i, leaf] of leaves.entries()) {
      const indices = proofIndices(tree.treeIndices[i] ?? -1);
      expect(indices.map((j) => tree.nodes[j])).toEqual(reference.getProof(leaf));
    }
    expect(proofIndices(0)).toEqual([]);
  });
});

describe("readProof", () => {
  it("serves every leaf's proof from the stored node rows, and each verifies against the root", async () => {
    const leaves = Array.from({ length: 21 }, (_, i) => leafAt(i));
    const tree = buildBatchTree(leaves.map(tupleLeafHash));
    const key = { chainId: 1, ledger: "0x00000000000000000000000000000000000000aa", batchId: 7 };
    await env.DB.batch([
      env.DB.prepare(
        `insert into settlement_batches
           (chain_id, ledger, batch_id, root, count, status, settler, created_at, updated_at)
         values (?, ?, ?, ?, ?, 'confirmed', 'test', 0, 0)`,
      ).bind(key.chainId, key.ledger, key.batchId, tree.root, leaves.length),
      ...treeNodeStatements(env.DB, key, tree.nodes),
    ]);
    const batch = await env.DB.prepare("select id from settlement_batches where ledger = ?")
      .bind(key.ledger)
      .first<{ id: number }>();
    for (const [i, leaf] of leaves.entries()) {
      const proof = await readProof(env.DB, batch?.id ?? -1, tree.treeIndices[i] ?? -1);
      expect(StandardMerkleTree.verify(tree.root, LEAF_TYPES, leaf, proof)).toBe(true);
    }
    await expect(readProof(env.DB, (batch?.id ?? 0) + 1000, 5)).rejects.toThrow(
      /no stored tree node/,
    );
  });
});
