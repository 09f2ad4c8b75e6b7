import { buildMerkleTree, type MerkleTree, proofIndices } from "@verity/protocol/merkle-tree";
import type { Hex } from "viem";

/** A batch's tree as stored: every node hash, and where each leaf sits among them. */
export type BatchTree = MerkleTree;

/** Node hashes per insert statement: one JSON array parameter of about 350 kB. */
const NODES_PER_STATEMENT = 5_000;

/**
 * The tree of a batch's leaf hashes, exactly as `SimpleMerkleTree.of` builds it (leaves sorted by
 * hash), flattened for storage, as verifiers rebuild the root; leaves may be of either version.
 * It takes the hashes stored when the records arrived (`leafHash`, or `tupleLeafHash` of a stored
 * tuple), so building a batch hashes only its inner nodes: for 100,000 records that halves the
 * work. It skips the library's slower ABI encoder and hex conversions (the tests pin it node for
 * node).
 */
export function buildBatchTree(leafHashes: readonly Hex[]): BatchTree {
  return buildMerkleTree(leafHashes);
}

/**
 * Statements inserting every node of `tree` for the batch `(chainId, ledger, batchId)`, for a
 * D1 batch that inserts that batch row first (the batch's local id is looked up, not passed).
 */
export function treeNodeStatements(
  d1: D1Database,
  batch: { chainId: number; ledger: string; batchId: number },
  nodes: readonly Hex[],
): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  for (let offset = 0; offset < nodes.length; offset += NODES_PER_STATEMENT) {
    const chunk = nodes.slice(offset, offset + NODES_PER_STATEMENT);
    statements.push(
      d1
        .prepare(
          `insert into settlement_tree_nodes (batch, node_index, hash)
           select b.id, j.key + ?4, j.value
           from settlement_batches b, json_each(?5) j
           where b.chain_id = ?1 and b.ledger = ?2 and b.batch_id = ?3`,
        )
        .bind(batch.chainId, batch.ledger, batch.batchId, offset, JSON.stringify(chunk)),
    );
  }
  return statements;
}

/**
 * The inclusion proof of the leaf at `treeIndex` of batch `batch` (local id), read from the
 * stored nodes: O(log n) rows in one indexed query.
 *
 * @throws Error if a node is missing: stored trees are complete, so that is corruption.
 */
export async function readProof(d1: D1Database, batch: number, treeIndex: number): Promise<Hex[]> {
  const indices = proofIndices(treeIndex);
  if (indices.length === 0) return [];
  const { results } = await d1
    .prepare(
      `select node_index, hash from settlement_tree_nodes
       where batch = ?1 and node_index in (select value from json_each(?2))`,
    )
    .bind(batch, JSON.stringify(indices))
    .all<{ node_index: number; hash: Hex }>();
  const byIndex = new Map(results.map((r) => [r.node_index, r.hash]));
  return indices.map((i) => {
    const hash = byIndex.get(i);
    if (!hash) throw new Error(`batch ${batch} has no stored tree node ${i}`);
    return hash;
  });
}
