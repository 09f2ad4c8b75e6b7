import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  encodeFunctionData,
  getAddress,
  type Hex,
  keccak256,
  type LocalAccount,
  size,
  stringToHex,
} from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  LEAF_OUTCOME,
  LEAF_TYPES,
  type LeafTuple,
  leafTuple,
} from "../../src/protocol/merkle-leaf.ts";
import type { SettlementBatch } from "../../src/protocol/settlement-batch.ts";
import { verityLedgerAbi } from "../generated/VerityLedger.ts";
import { type Anvil, startAnvil } from "./anvil.ts";
import { clients, deploy, quorumSignatures, settle, verifierAccounts } from "./fixtures.ts";

// Prints what settlement costs (the figures are the point); asserts only what must hold
// whatever the figures: the cost does not grow with the batch, and the target is met.
const COUNTS = [1, 10, 100, 1_000, 10_000] as const;
const TARGET_GAS_PER_INFERENCE = 20;

let anvil: Anvil;
let nextBatchId = 1n;
beforeAll(async () => {
  anvil = await startAnvil();
});
afterAll(async () => {
  await anvil?.stop();
});

function records(count: number, salt: string): LeafTuple[] {
  return Array.from({ length: count }, (_, i) =>
    leafTuple({
      inferenceId: `019ab4c2-7d3e-7a10-9b2c-${i.toString(16).padStart(12, "0")}`,
      requestHash: keccak256(stringToHex(`${salt} request ${i}`)),
      responseHash: keccak256(stringToHex(`${salt} response ${i}`)),
      model: "@cf/meta/llama-3.1-8b-instruct",
      inferenceNode: getAddress("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"),
      outcome: i % 10 ? LEAF_OUTCOME.verified : LEAF_OUTCOME.rejected,
      verdictsDigest: keccak256(stringToHex(`${salt} verdicts ${i}`)),
      createdAt: 1767225600000 + i,
    }),
  );
}

async function settleTree(
  ledger: Hex,
  signers: readonly LocalAccount[],
  tree: StandardMerkleTree<LeafTuple>,
  count: number,
) {
  const batch: SettlementBatch = { batchId: nextBatchId++, root: tree.root as Hex, count };
  const signatures = await quorumSignatures(ledger, batch, signers);
  const receipt = await settle(anvil, ledger, batch, signatures);
  expect(receipt.status).toBe("success");
  const tx = await clients(anvil).publicClient.getTransaction({ hash: receipt.transactionHash });
  return { gas: receipt.gasUsed, calldataBytes: size(tx.input) };
}

describe("settleBatch gas", () => {
  it(`is the same for 1 and 10,000 records and at most ${TARGET_GAS_PER_INFERENCE} gas per inference at 10,000`, async () => {
    const verifiers = verifierAccounts(5);
    const { ledger } = await deploy(anvil, verifiers, 3);
    const signers = verifiers.slice(0, 3);

    // One transaction per inference: every record settled as a batch of its own.
    const singles: bigint[] = [];
    for (const tuple of records(10, "single")) {
      const tree = StandardMerkleTree.of([tuple], LEAF_TYPES);
      singles.push((await settleTree(ledger, signers, tree, 1)).gas);
    }
    const perRecordTx = Number(singles.reduce((a, b) => a + b, 0n)) / singles.length;

    const rows: string[] = [];
    const gasByCount = new Map<number, bigint>();
    let proofGas = 0n;
    let proofDepth = 0;
    for (const count of COUNTS) {
      const started = performance.now();
      const tree = StandardMerkleTree.of(records(count, `batch ${count}`), LEAF_TYPES);
      const treeMs = performance.now() - started;
      const { gas, calldataBytes } = await settleTree(ledger, signers, tree, count);
      gasByCount.set(count, gas);
      const perInference = Number(gas) / count;
      rows.push(
        `${String(count).padStart(6)} | ${String(gas).padStart(8)} | ${perInference.toFixed(2).padStart(12)} | ${String(Math.round(perRecordTx * count)).padStart(12)} | ${(perRecordTx / perInference).toFixed(0).padStart(7)}x | ${String(calldataBytes).padStart(8)} | ${treeMs.toFixed(0).padStart(5)}`,
      );
      if (count === 10_000) {
        const proof = tree.getProof(count - 1) as Hex[];
        proofDepth = proof.length;
        const { publicClient } = clients(anvil);
        // What a contract pays to check one record against a settled root (less the 21,000
        // a standalone transaction adds).
        proofGas =
          (await publicClient.estimateGas({
            to: ledger,
            data: encodeFunctionData({
              abi: verityLedgerAbi,
              functionName: "isIncluded",
              args: [
                nextBatchId - 1n,
                proof,
                tree.leafHash(tree.at(count - 1) as LeafTuple) as Hex,
              ],
            }),
          })) - 21_000n;
      }
    }

    const byThreshold: string[] = [];
    for (const t of [1, 3, 5]) {
      const committee = verifierAccounts(5);
      const deployed = await deploy(anvil, committee, t);
      const tree = StandardMerkleTree.of(records(10, `t${t}`), LEAF_TYPES);
      const { gas } = await settleTree(deployed.ledger, committee.slice(0, t), tree, 10_000);
      byThreshold.push(
        `t=${t}: ${gas} gas (${(Number(gas) / 10_000).toFixed(2)} per inference at 10,000)`,
      );
    }

    console.log(
      [
        "",
        "settleBatch, 3 of 5 verifiers signing (anvil, evmVersion cancun):",
        " count |  gas used | gas/inference | 1 tx/record  | saving | calldata | tree ms",
        ...rows,
        `one record per transaction: ${perRecordTx.toFixed(0)} gas per inference (mean of ${singles.length})`,
        `isIncluded for a 10,000-record batch (proof of ${proofDepth} hashes): ~${proofGas} gas`,
        "by threshold, all signers needed and no more:",
        ...byThreshold.map((line) => `  ${line}`),
        "",
      ].join("\n"),
    );

    const one = gasByCount.get(1) ?? 0n;
    const tenThousand = gasByCount.get(10_000) ?? 0n;
    // Only the calldata of `count` differs (a few non-zero bytes): O(1) in the batch size.
    expect(tenThousand - one).toBeLessThan(100n);
    expect(Number(tenThousand) / 10_000).toBeLessThanOrEqual(TARGET_GAS_PER_INFERENCE);
  });
});
