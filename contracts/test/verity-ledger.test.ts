import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  LEAF_OUTCOME,
  type LeafValues,
  leafHash,
  leafTuple,
  leafTypes,
} from "@verity/protocol/merkle-leaf";
import { buildMerkleTree, proofIndices } from "@verity/protocol/merkle-tree";
import {
  batchDigest,
  ledgerDomain,
  type SettlementBatch,
  settlementSignatures,
  signBatch,
} from "@verity/protocol/settlement-batch";
import {
  type Address,
  getAddress,
  type Hex,
  keccak256,
  type LocalAccount,
  parseEventLogs,
  stringToHex,
  zeroHash,
} from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifierRegistryAbi } from "../generated/VerifierRegistry.ts";
import { verityLedgerAbi } from "../generated/VerityLedger.ts";
import { ANVIL_CHAIN_ID, type Anvil, startAnvil } from "./anvil.ts";
import {
  clients,
  deploy,
  quorumSignatures,
  revertOf,
  settle,
  signaturesOf,
  verifierAccounts,
} from "./fixtures.ts";

// The same vector is pinned in packages/protocol/src/settlement-batch.test.ts, which runs in workerd
// without a chain: this file proves the contract agrees with it.
const VECTOR_LEDGER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const VECTOR_BATCH = {
  batchId: 42n,
  root: "0x4242424242424242424242424242424242424242424242424242424242424242",
  count: 10_000,
} as const satisfies SettlementBatch;
const VECTOR_DIGEST = "0x41513b9a08616b4eaa775c7eaf62beae60cead4ec27fbda2016b24cc37f94d1a";

let anvil: Anvil;
let verifiers: LocalAccount[];
let ledger: Address;
let registry: Address;
let client: ReturnType<typeof clients>["publicClient"];
let nextBatchId = 1000n;

const THRESHOLD = 3;

beforeAll(async () => {
  anvil = await startAnvil();
  client = clients(anvil).publicClient;
  verifiers = verifierAccounts(5);
  ({ ledger, registry } = await deploy(anvil, verifiers, THRESHOLD));
});
afterAll(async () => {
  await anvil?.stop();
});

const newBatch = (count = 3): SettlementBatch => ({
  batchId: nextBatchId++,
  root: keccak256(stringToHex(`batch ${nextBatchId}`)),
  count,
});

const readBatch = (batchId: bigint) =>
  client.readContract({
    address: ledger,
    abi: verityLedgerAbi,
    functionName: "batch",
    args: [batchId],
  });
const isSettled = (batchId: bigint) =>
  client.readContract({
    address: ledger,
    abi: verityLedgerAbi,
    functionName: "isSettled",
    args: [batchId],
  });

/** The custom error settleBatch would revert with. */
const refusal = (batch: SettlementBatch, signatures: readonly Hex[]) =>
  revertOf(
    client.simulateContract({
      address: ledger,
      abi: verityLedgerAbi,
      functionName: "settleBatch",
      args: [batch.batchId, batch.root, batch.count, signatures],
      account: clients(anvil).account,
    }),
  );

const pick = (...indexes: number[]) => indexes.map((i) => verifiers[i] as LocalAccount);

describe("VerityLedger.settleBatch", () => {
  it("settles a batch signed by a threshold of verifiers, stores it and emits BatchSettled", async () => {
    const batch = newBatch(10_000);
    const signers = pick(0, 2, 4);
    const receipt = await settle(
      anvil,
      ledger,
      batch,
      await quorumSignatures(ledger, batch, signers),
    );
    expect(receipt.status).toBe("success");

    const events = parseEventLogs({
      abi: verityLedgerAbi,
      logs: receipt.logs,
      eventName: "BatchSettled",
    });
    expect(events).toHaveLength(1);
    expect(events[0]?.args).toEqual({
      batchId: batch.batchId,
      root: batch.root,
      count: batch.count,
      signers: signers.map((s) => s.address),
    });

    const block = await client.getBlock({ blockNumber: receipt.blockNumber });
    expect(await readBatch(batch.batchId)).toEqual({
      root: batch.root,
      count: batch.count,
      blockNumber: receipt.blockNumber,
      timestamp: block.timestamp,
    });
    expect(await isSettled(batch.batchId)).toBe(true);
  });

  it("accepts more signatures than the threshold when every signer is registered", async () => {
    const batch = newBatch();
    const receipt = await settle(
      anvil,
      ledger,
      batch,
      await quorumSignatures(ledger, batch, verifiers),
    );
    expect(receipt.status).toBe("success");
  });

  it("refuses a signer that is not a registered verifier", async () => {
    const batch = newBatch();
    const outsider = verifierAccounts(1)[0] as LocalAccount;
    const signers = [...pick(0, 1), outsider].sort((a, b) =>
      BigInt(a.address) < BigInt(b.address) ? -1 : 1,
    );
    const index = signers.indexOf(outsider);
    expect(await refusal(batch, await signaturesOf(ledger, batch, signers))).toEqual({
      errorName: "SignerNotRegistered",
      args: [BigInt(index), outsider.address],
    });
  });

  it("refuses the same verifier's signature twice, even with enough others", async () => {
    const batch = newBatch();
    const [a, b, c] = await signaturesOf(ledger, batch, pick(0, 1, 2));
    expect(await refusal(batch, [a, a, b, c] as Hex[])).toEqual({
      errorName: "DuplicateSigner",
      args: [1n, verifiers[0]?.address],
    });
  });

  it("refuses signatures that are not sorted by signer", async () => {
    const batch = newBatch();
    const [a, b, c] = await signaturesOf(ledger, batch, pick(0, 1, 2));
    expect(await refusal(batch, [b, a, c] as Hex[])).toEqual({
      errorName: "UnsortedSigners",
      args: [1n, verifiers[0]?.address],
    });
  });

  it("refuses fewer signatures than the threshold", async () => {
    const batch = newBatch();
    expect(await refusal(batch, await quorumSignatures(ledger, batch, pick(0, 1)))).toEqual({
      errorName: "TooFewSignatures",
      args: [2n, BigInt(THRESHOLD)],
    });
    expect(await refusal(batch, [])).toEqual({
      errorName: "TooFewSignatures",
      args: [0n, BigInt(THRESHOLD)],
    });
  });

  it("refuses a batch id that is already settled, whatever root is sent the second time", async () => {
    const batch = newBatch();
    const signers = pick(1, 2, 3);
    await settle(anvil, ledger, batch, await quorumSignatures(ledger, batch, signers));
    expect(await refusal(batch, await quorumSignatures(ledger, batch, signers))).toEqual({
      errorName: "BatchAlreadySettled",
      args: [batch.batchId, batch.root],
    });
    const other = { ...batch, root: keccak256(stringToHex("another root")) };
    expect(await refusal(other, await quorumSignatures(ledger, other, signers))).toEqual({
      errorName: "BatchAlreadySettled",
      args: [batch.batchId, batch.root],
    });
    expect((await readBatch(batch.batchId)).root).toBe(batch.root);
  });

  it("refuses a tampered root or count: the signatures no longer recover to verifiers", async () => {
    const batch = newBatch();
    const signatures = await quorumSignatures(ledger, batch, pick(0, 1, 2));
    for (const tampered of [
      { ...batch, root: keccak256(stringToHex("tampered")) },
      { ...batch, count: batch.count + 1 },
      { ...batch, batchId: batch.batchId + 1n },
    ]) {
      const { errorName, args } = await refusal(tampered, signatures);
      // The first signature recovers to some unrelated address; which one is chance.
      expect(errorName).toBe("SignerNotRegistered");
      expect(args[0]).toBe(0n);
      expect(verifiers.map((v) => v.address)).not.toContain(args[1]);
    }
    expect(await isSettled(batch.batchId)).toBe(false);
  });

  it("refuses signatures made for another ledger (the domain binds the contract)", async () => {
    const batch = newBatch();
    const otherDomain = ledgerDomain(ANVIL_CHAIN_ID, registry);
    const signed = await Promise.all(pick(0, 1, 2).map((s) => signBatch(batch, otherDomain, s)));
    expect(await refusal(batch, settlementSignatures(signed))).toMatchObject({
      errorName: "SignerNotRegistered",
    });
  });

  it("refuses a zero root, a zero count and a malformed signature", async () => {
    const batch = newBatch();
    const zero = { ...batch, root: `0x${"0".repeat(64)}` as Hex };
    expect(await refusal(zero, [])).toEqual({ errorName: "EmptyRoot", args: [] });
    expect(await refusal({ ...batch, count: 0 }, [])).toEqual({
      errorName: "EmptyBatch",
      args: [],
    });
    const signatures = await quorumSignatures(ledger, batch, pick(0, 1, 2));
    const short = (signatures[0] as Hex).slice(0, 130) as Hex;
    expect(await refusal(batch, [short, ...signatures.slice(1)])).toEqual({
      errorName: "InvalidSignature",
      args: [0n],
    });
  });

  it("stops counting a verifier once the owner removes it", async () => {
    const verifiersHere = verifierAccounts(4);
    const fresh = await deploy(anvil, verifiersHere, 3);
    const removed = verifiersHere[1] as LocalAccount;
    const { walletClient } = clients(anvil);
    const hash = await walletClient.writeContract({
      address: fresh.registry,
      abi: verifierRegistryAbi,
      functionName: "removeVerifier",
      args: [removed.address],
    });
    await client.waitForTransactionReceipt({ hash });
    const batch = newBatch();
    const domain = ledgerDomain(ANVIL_CHAIN_ID, fresh.ledger);
    const signed = await Promise.all(
      verifiersHere.slice(0, 3).map((s) => signBatch(batch, domain, s)),
    );
    expect(
      await revertOf(
        client.simulateContract({
          address: fresh.ledger,
          abi: verityLedgerAbi,
          functionName: "settleBatch",
          args: [batch.batchId, batch.root, batch.count, settlementSignatures(signed)],
        }),
      ),
    ).toEqual({ errorName: "SignerNotRegistered", args: [1n, removed.address] });
  });
});

describe("VerityLedger's EIP-712 domain and digest", () => {
  it("is the domain ledgerDomain() describes", async () => {
    const [, name, version, chainId, verifyingContract] = await client.readContract({
      address: ledger,
      abi: verityLedgerAbi,
      functionName: "eip712Domain",
    });
    expect({ name, version, chainId: Number(chainId), verifyingContract }).toEqual(
      ledgerDomain(ANVIL_CHAIN_ID, ledger),
    );
    expect(
      await client.readContract({
        address: ledger,
        abi: verityLedgerAbi,
        functionName: "BATCH_TYPEHASH",
      }),
    ).toBe(keccak256(stringToHex("Batch(uint64 batchId,bytes32 root,uint32 count)")));
  });

  it("computes the same batch digest as settlement-batch.ts, including the pinned vector", async () => {
    for (const batch of [
      newBatch(1),
      newBatch(10_000),
      { ...newBatch(), batchId: 2n ** 64n - 1n },
    ]) {
      expect(
        await client.readContract({
          address: ledger,
          abi: verityLedgerAbi,
          functionName: "batchDigest",
          args: [batch.batchId, batch.root, batch.count],
        }),
      ).toBe(batchDigest(batch, ledgerDomain(ANVIL_CHAIN_ID, ledger)));
    }
    // The first ledger deployed on a fresh anvil lives at VECTOR_LEDGER (deployer nonce 1).
    expect(ledger).toBe(getAddress(VECTOR_LEDGER));
    expect(
      await client.readContract({
        address: ledger,
        abi: verityLedgerAbi,
        functionName: "batchDigest",
        args: [VECTOR_BATCH.batchId, VECTOR_BATCH.root, VECTOR_BATCH.count],
      }),
    ).toBe(VECTOR_DIGEST);
  });
});

describe("VerityLedger inclusion proofs", () => {
  // A batch settled across the upgrade holds leaves of both versions: the ledger sees hashes.
  const record = (i: number): LeafValues =>
    i % 2
      ? {
          version: 1,
          inferenceId: `019ab4c2-7d3e-7a10-9b2c-${i.toString(16).padStart(12, "0")}`,
          requestHash: keccak256(stringToHex(`request ${i}`)),
          responseHash: keccak256(stringToHex(`response ${i}`)),
          model: i % 3 ? "@cf/meta/llama-3.1-8b-instruct" : "verity-reference-1",
          inferenceNode: getAddress("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"),
          outcome: i % 5 ? LEAF_OUTCOME.verified : LEAF_OUTCOME.rejected,
          verdictsDigest: keccak256(stringToHex(`verdicts ${i}`)),
          createdAt: 1767225600000 + i,
        }
      : {
          version: 2,
          inferenceId: `019ab4c2-7d3e-7a10-9b2c-${i.toString(16).padStart(12, "0")}`,
          receiptDigest: keccak256(stringToHex(`receipt ${i}`)),
          inferenceNode: getAddress("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"),
          outcome: i % 5 ? LEAF_OUTCOME.verified : LEAF_OUTCOME.rejected,
          verdictsDigest: keccak256(stringToHex(`verdicts ${i}`)),
          modelDigest: zeroHash,
          strength: "unset",
          strengthScore: 0,
          fee: String(i * 1_000_000),
        };
  const records = Array.from({ length: 100 }, (_, i) => record(i));
  const tree = buildMerkleTree(records.map(leafHash));
  const proofOf = (i: number) =>
    proofIndices(tree.treeIndices[i] ?? -1).map((j) => tree.nodes[j] as Hex);
  let batch: SettlementBatch;

  beforeAll(async () => {
    batch = { batchId: nextBatchId++, root: tree.root, count: records.length };
    await settle(anvil, ledger, batch, await quorumSignatures(ledger, batch, pick(0, 1, 2)));
  });

  const isIncluded = (batchId: bigint, proof: Hex[], leaf: Hex) =>
    client.readContract({
      address: ledger,
      abi: verityLedgerAbi,
      functionName: "isIncluded",
      args: [batchId, proof, leaf],
    });

  it("verifies a merkle-tree proof of a real leaf of either version, by its hash", async () => {
    for (const i of [0, 1, 37, 98, 99]) {
      expect(await isIncluded(batch.batchId, proofOf(i), leafHash(records[i] as LeafValues))).toBe(
        true,
      );
    }
  });

  it("refuses a wrong leaf, another leaf's proof and an unsettled batch", async () => {
    for (const i of [37, 38]) {
      const values = records[i] as LeafValues;
      const forged = {
        ...values,
        outcome: LEAF_OUTCOME.verified === values.outcome ? 2 : 1,
      } as LeafValues;
      expect(await isIncluded(batch.batchId, proofOf(i), leafHash(forged))).toBe(false);
      expect(await isIncluded(batch.batchId, proofOf(0), leafHash(values))).toBe(false);
      expect(await isIncluded(batch.batchId + 10_000n, proofOf(i), leafHash(values))).toBe(false);
    }
  });

  it("hashes a record exactly as merkle-leaf.ts and the merkle-tree library do, in both versions", () => {
    for (const values of [
      records[0],
      records[5],
      records[6],
      { ...(record(7) as LeafValues & { version: 1 }), model: "modèle/🚀" },
      { ...(record(8) as LeafValues & { version: 2 }), fee: (2n ** 256n - 1n).toString() },
    ] as LeafValues[]) {
      const tuple = leafTuple(values);
      expect(leafHash(values)).toBe(
        StandardMerkleTree.of([tuple], leafTypes(tuple)).leafHash(tuple),
      );
    }
  });
});
