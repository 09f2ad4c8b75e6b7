import { env } from "cloudflare:workers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  LEAF_OUTCOME,
  LEAF_TYPES_V2,
  type LeafTuple,
  tupleLeafHash,
} from "@verity/protocol/merkle-leaf";
import { type Hex, numberToHex } from "viem";
import { describe, expect, it } from "vitest";
import { nodeAccount } from "../../../test/settle/network";
import { buildBatchTree, readProof, treeNodeStatements } from "../../db/settlement-tree";

const LEAVES = 100_000;

/** Distinct, well-formed version-2 leaves without paying for 100,000 signed rounds. */
const leafAt = (i: number): LeafTuple => [
  2,
  numberToHex(i, { size: 16 }),
  numberToHex(i * 2 + 1, { size: 32 }),
  nodeAccount.address,
  i % 7 === 0 ? LEAF_OUTCOME.rejected : LEAF_OUTCOME.verified,
  numberToHex(i * 3 + 5, { size: 32 }),
  numberToHex(0, { size: 32 }),
  0,
  0,
  String(i * 1_000),
];

describe("a 100,000-leaf batch", () => {
  it("is built once, stored as node rows, and serves a proof from O(log n) stored hashes", async () => {
    const leaves = Array.from({ length: LEAVES }, (_, i) => leafAt(i));
    // Each record's leaf hash is computed when it arrives (storeSettlementRecords), one at a time;
    // a batch's tree is built from the stored hashes.
    const hashStart = performance.now();
    const hashes = leaves.map(tupleLeafHash);
    const hashMs = performance.now() - hashStart;
    const buildStart = performance.now();
    const tree = buildBatchTree(hashes);
    const buildMs = performance.now() - buildStart;
    expect(tree.nodes).toHaveLength(2 * LEAVES - 1);
    expect(tree.nodes[0]).toBe(tree.root);

    const scope = {
      chainId: 31337,
      ledger: "0x000000000000000000000000000000000000dEaD",
      batchId: 1,
    };
    const storeStart = performance.now();
    await env.DB.batch([
      env.DB.prepare(
        `insert into settlement_batches
           (chain_id, ledger, batch_id, root, count, status, settler, created_at, updated_at)
         values (?, ?, ?, ?, ?, 'confirmed', 'scale test', 0, 0)`,
      ).bind(scope.chainId, scope.ledger, scope.batchId, tree.root, LEAVES),
      ...treeNodeStatements(env.DB, scope, tree.nodes),
    ]);
    const storeMs = performance.now() - storeStart;
    const batch = await env.DB.prepare(
      "select id, (select count(*) from settlement_tree_nodes n where n.batch = b.id) as nodes from settlement_batches b where ledger = ?",
    )
      .bind(scope.ledger)
      .first<{ id: number; nodes: number }>();
    expect(batch?.nodes).toBe(2 * LEAVES - 1);

    const which = 61_803;
    const serveStart = performance.now();
    const proof = await readProof(env.DB, batch?.id ?? -1, tree.treeIndices[which] ?? -1);
    const serveMs = performance.now() - serveStart;
    // A leaf sits one level above the bottom or on it, as its hash sorts: 16 or 17 hashes.
    expect(proof.length).toBeGreaterThanOrEqual(Math.floor(Math.log2(LEAVES)));
    expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(LEAVES)));
    expect(
      StandardMerkleTree.verify(
        tree.root,
        LEAF_TYPES_V2,
        leaves[which] as LeafTuple,
        proof as Hex[],
      ),
    ).toBe(true);
    console.log(
      `${LEAVES} leaves: hashed on arrival in ${hashMs.toFixed(0)} ms in all, tree built from the stored hashes in ${buildMs.toFixed(0)} ms, ${tree.nodes.length} nodes stored in ${storeMs.toFixed(0)} ms, one proof (${proof.length} hashes) served in ${serveMs.toFixed(1)} ms`,
    );
  }, 120_000);
});
