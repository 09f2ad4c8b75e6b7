import { proofIndices } from "@verity/protocol/merkle-tree";
import type { SettlementBatch } from "@verity/protocol/settlement-batch";
import { encodeFunctionData, type Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  batchSalt,
  measureSettlementGas,
  settlementRecords,
  settlementTree,
} from "../../scripts/lib/settlement-gas.ts";
import { verityLedgerAbi } from "../generated/VerityLedger.ts";
import { type Anvil, startAnvil } from "./anvil.ts";
import { clients, deploy, quorumSignatures, settle, verifierAccounts } from "./fixtures.ts";

// Prints what settlement costs (the figures are the point); asserts only what must hold
// whatever the figures: the cost does not grow with the batch, and the target is met.
const COUNTS = [1, 10, 100, 1_000, 10_000] as const;
const TARGET_GAS_PER_INFERENCE = 20;

let anvil: Anvil;
beforeAll(async () => {
  anvil = await startAnvil();
});
afterAll(async () => {
  await anvil?.stop();
});

describe("settleBatch gas", () => {
  it(`is the same for 1 and 10,000 records and at most ${TARGET_GAS_PER_INFERENCE} gas per inference at 10,000`, async () => {
    const report = await measureSettlementGas({
      rpcUrl: anvil.rpcUrl,
      sizes: COUNTS,
      verifiers: 5,
      threshold: 3,
    });
    const perRecordTx = report.oneTxPerInferenceGas;
    const rows = report.rows.map(
      (row) =>
        `${String(row.size).padStart(6)} | ${String(row.gasUsed).padStart(8)} | ${row.gasPerInference.toFixed(2).padStart(12)} | ${String(Math.round(perRecordTx * row.size)).padStart(12)} | ${(perRecordTx / row.gasPerInference).toFixed(0).padStart(7)}x | ${String(row.calldataBytes).padStart(8)} | ${row.treeMs.toFixed(0).padStart(5)}`,
    );

    // What a contract pays to check one record against a settled root (less the 21,000 a
    // standalone transaction adds): the 10,000-record batch rebuilt from the same records.
    const largest = report.rows.find((row) => row.size === 10_000);
    if (!largest) throw new Error("the 10,000-record batch was not measured");
    const tree = settlementTree(settlementRecords(10_000, batchSalt(10_000)));
    const leafIndex = tree.treeIndices[9_999] ?? 0;
    const proof = proofIndices(leafIndex).map((index) => tree.nodes[index] as Hex);
    const isIncluded = {
      abi: verityLedgerAbi,
      functionName: "isIncluded",
      args: [largest.batchId, proof, tree.nodes[leafIndex] as Hex],
    } as const;
    const { publicClient } = clients(anvil);
    // The rebuilt tree is the settled one: its proof holds on chain.
    expect(await publicClient.readContract({ address: report.ledger, ...isIncluded })).toBe(true);
    const proofGas =
      (await publicClient.estimateGas({
        to: report.ledger,
        data: encodeFunctionData(isIncluded),
      })) - 21_000n;

    const byThreshold: string[] = [];
    for (const t of [1, 3, 5]) {
      const committee = verifierAccounts(5);
      const { ledger } = await deploy(anvil, committee, t);
      const small = settlementTree(settlementRecords(10, `t${t}`));
      const batch: SettlementBatch = { batchId: 1n, root: small.root, count: 10_000 };
      const receipt = await settle(
        anvil,
        ledger,
        batch,
        await quorumSignatures(ledger, batch, committee.slice(0, t)),
      );
      expect(receipt.status).toBe("success");
      byThreshold.push(
        `t=${t}: ${receipt.gasUsed} gas (${(Number(receipt.gasUsed) / 10_000).toFixed(2)} per inference at 10,000)`,
      );
    }

    console.log(
      [
        "",
        "settleBatch, 3 of 5 verifiers signing (anvil, evmVersion cancun):",
        " count |  gas used | gas/inference | 1 tx/record  | saving | calldata | tree ms",
        ...rows,
        `one record per transaction: ${perRecordTx.toFixed(0)} gas per inference (mean of ${report.singles})`,
        `isIncluded for a 10,000-record batch (proof of ${proof.length} hashes): ~${proofGas} gas`,
        "by threshold, all signers needed and no more:",
        ...byThreshold.map((line) => `  ${line}`),
        "",
      ].join("\n"),
    );

    const one = report.rows.find((row) => row.size === 1)?.gasUsed ?? 0n;
    // Only the calldata of `count` differs (a few non-zero bytes): O(1) in the batch size.
    expect(largest.gasUsed - one).toBeLessThan(100n);
    expect(largest.gasPerInference).toBeLessThanOrEqual(TARGET_GAS_PER_INFERENCE);
  });
});
