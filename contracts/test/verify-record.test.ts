// verifyRecord against a real chain: registry membership comes from the registry's events, so a
// record settled while its verifiers were registered still verifies after one is removed and
// after anvil restarts from its state file (which keeps no state at old blocks to call).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { chainView } from "@verity/protocol/chain-view";
import { leafHash } from "@verity/protocol/merkle-leaf";
import { buildMerkleTree, proofIndices } from "@verity/protocol/merkle-tree";
import { leafFromOutcome } from "@verity/protocol/round-outcome";
import { verifyRecord } from "@verity/protocol/verify-record";
import type { VerityRecord } from "@verity/protocol/verity-record";
import { type Address, type Hex, keccak256, stringToHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decidedRecord } from "../../test/fixtures/verity-record.ts";
import { verifierRegistryAbi } from "../generated/VerifierRegistry.ts";
import { ANVIL_CHAIN_ID, type Anvil, startAnvil } from "./anvil.ts";
import { clients, deploy, quorumSignatures, settle, verifierAccounts } from "./fixtures.ts";

const [node] = verifierAccounts(1);
if (!node) throw new Error("no node key");

let dir: string;
let anvil: Anvil;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "verity-verify-record-"));
});
afterAll(async () => {
  await anvil?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Settles `record` as batch `batchId` beside one other leaf, so its proof has a hash in it. */
async function settleRecord(
  record: VerityRecord,
  ledger: Address,
  batchId: bigint,
  signers: ReturnType<typeof verifierAccounts>,
): Promise<VerityRecord> {
  if (!record.round) throw new Error("the record is not decided");
  const leaf = leafHash(leafFromOutcome(record.round));
  const tree = buildMerkleTree([leaf, keccak256(stringToHex(`another record ${batchId}`))]);
  const batch = { batchId, root: tree.root, count: 2 };
  const receipt = await settle(
    anvil,
    ledger,
    batch,
    await quorumSignatures(ledger, batch, signers),
  );
  expect(receipt.status).toBe("success");
  const index = tree.treeIndices[0] ?? 0;
  return {
    ...record,
    status: "settled",
    settlement: {
      chainId: ANVIL_CHAIN_ID,
      ledger,
      batchId: String(batchId),
      root: tree.root,
      leafHash: leaf,
      proof: proofIndices(index).map((i) => tree.nodes[i] as Hex),
      transactionHash: receipt.transactionHash,
      blockNumber: Number(receipt.blockNumber),
    },
  };
}

const failed = async (record: VerityRecord) => {
  const { publicClient } = clients(anvil);
  const result = await verifyRecord(record, {
    chain: chainView(publicClient),
    trustedNodes: [node.address],
    confirmations: 1,
  });
  return result.checks.filter((c) => c.status !== "pass").map((c) => `${c.check}:${c.reason}`);
};

describe("verifyRecord on a chain", () => {
  it("verifies records of protocol v1 and v2 settled on one ledger: old records stay checkable", async () => {
    anvil = await startAnvil();
    try {
      const voters = verifierAccounts(3);
      const { ledger } = await deploy(anvil, voters, 2);
      for (const [i, protocol] of [1, 2].entries()) {
        const record = await decidedRecord({ node, voters, protocol: protocol as 1 | 2 });
        expect(record.round?.version).toBe(protocol);
        const settled = await settleRecord(record, ledger, BigInt(10 + i), voters.slice(0, 2));
        expect(await failed(settled)).toEqual([]);
      }
    } finally {
      await anvil.stop();
    }
  });

  it("verifies a settled record after its verifier is removed and anvil restarts from its state", async () => {
    const stateFile = path.join(dir, "anvil.json");
    anvil = await startAnvil(["--state", stateFile]);
    const voters = verifierAccounts(3);
    const { ledger, registry } = await deploy(anvil, voters, 2);
    const settled = await settleRecord(
      await decidedRecord({ node, voters }),
      ledger,
      1n,
      voters.slice(0, 2),
    );
    expect(await failed(settled)).toEqual([]);

    // Remove a verifier whose verdict counted: the record was settled while it was registered.
    const voter = settled.round?.verdicts[0]?.verifier as Address;
    const { publicClient, walletClient } = clients(anvil);
    await publicClient.waitForTransactionReceipt({
      hash: await walletClient.writeContract({
        address: registry,
        abi: verifierRegistryAbi,
        functionName: "removeVerifier",
        args: [voter],
      }),
    });
    expect(await failed(settled)).toEqual([]);

    await anvil.stop();
    anvil = await startAnvil(["--state", stateFile]);
    // What a state read at the settling block would need, the restarted node no longer has.
    await expect(
      clients(anvil).publicClient.readContract({
        address: registry,
        abi: verifierRegistryAbi,
        functionName: "isVerifier",
        args: [voter],
        blockNumber: BigInt(settled.settlement?.blockNumber ?? 0),
      }),
    ).rejects.toThrow();
    expect(await failed(settled)).toEqual([]);

    // A record counting a verdict of the removed verifier, settled after the removal by the two
    // still registered: that verdict no longer counts, and the quorum falls short.
    const removed = voters.find((v) => v.address === voter);
    const other = voters.find((v) => v.address !== voter);
    if (!removed || !other) throw new Error("the voters are not as set up");
    const later = await decidedRecord({ node, voters, votes: [removed, other] });
    const stillRegistered = voters.filter((v) => v.address !== voter);
    const lateSettled = await settleRecord(later, ledger, 2n, stillRegistered);
    expect(await failed(lateSettled)).toEqual([
      "registry:not_registered",
      "quorum:insufficient_quorum",
    ]);
  });
});
