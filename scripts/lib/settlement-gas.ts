// What settling a batch costs on a chain: the contract gas test asserts on it, the bench prints
// it. It imports packages/protocol/src, whose imports have no extensions, so it runs under tsx or vitest,
// not plain Node.

import { keccak256 } from "@verity/protocol/keccak256";
import {
  LEAF_OUTCOME,
  type LeafTuple,
  leafTuple,
  tupleLeafHash,
} from "@verity/protocol/merkle-leaf";
import { buildMerkleTree, type MerkleTree } from "@verity/protocol/merkle-tree";
import { UNSET_FEE, UNSET_MODEL_DIGEST } from "@verity/protocol/receipt";
import {
  ledgerDomain,
  type SettlementBatch,
  settlementSignatures,
  signBatch,
} from "@verity/protocol/settlement-batch";
import { UNSET_STRENGTH } from "@verity/protocol/verification-strength";
import {
  type Address,
  createPublicClient,
  createWalletClient,
  getAddress,
  type Hex,
  http,
  type LocalAccount,
  size,
  stringToHex,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { verityLedgerAbi } from "../../contracts/generated/VerityLedger.ts";
import { deployVerityContracts } from "./deploy-verity-contracts.ts";

/** anvil's first account, funded at genesis: it deploys and settles. */
const ANVIL_DEPLOYER_KEY: Hex =
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

export interface SettlementGasOptions {
  /** An anvil (chain id 31337) whose first account is funded: the measurement sends to it. */
  rpcUrl: string;
  /** The batch sizes to settle, one batch each, in this order. */
  sizes: readonly number[];
  /** How many verifier keys the registry holds. Default 3. */
  verifiers?: number;
  /** How many of them co-sign each batch (the registry's threshold). Default 2. */
  threshold?: number;
  /** How many one-record batches the one-transaction-per-inference baseline averages. Default 10. */
  singles?: number;
  /** Progress, for a human. */
  log?: (line: string) => void;
}

/** One settled batch. */
export interface SettlementGasRow {
  size: number;
  batchId: bigint;
  /** settleBatch's gasUsed, including the transaction's 21,000. */
  gasUsed: bigint;
  gasPerInference: number;
  calldataBytes: number;
  /** Building the batch's Merkle tree in this process. */
  treeMs: number;
}

export interface SettlementGasReport {
  ledger: Address;
  verifiers: number;
  threshold: number;
  rows: SettlementGasRow[];
  /** Mean gasUsed of a settleBatch of one record: the cost of one transaction per inference. */
  oneTxPerInferenceGas: number;
  /** How many one-record batches that mean is over. */
  singles: number;
}

/**
 * `count` distinct, well-formed settlement records; the same `salt` and `count` give the same
 * records, so a caller can rebuild a measured batch's tree.
 */
export function settlementRecords(count: number, salt: string): LeafTuple[] {
  return Array.from({ length: count }, (_, i) =>
    leafTuple({
      version: 2,
      inferenceId: `019ab4c2-7d3e-7a10-9b2c-${i.toString(16).padStart(12, "0")}`,
      receiptDigest: keccak256(stringToHex(`${salt} receipt ${i}`)),
      inferenceNode: getAddress("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"),
      outcome: i % 10 ? LEAF_OUTCOME.verified : LEAF_OUTCOME.rejected,
      verdictsDigest: keccak256(stringToHex(`${salt} verdicts ${i}`)),
      modelDigest: UNSET_MODEL_DIGEST,
      ...UNSET_STRENGTH,
      fee: UNSET_FEE,
    }),
  );
}

/**
 * The batch's tree as the settler builds it (`SimpleMerkleTree.of` the leaf hashes, node for
 * node, at the speed the settler gets).
 */
export function settlementTree(records: readonly LeafTuple[]): MerkleTree {
  return buildMerkleTree(records.map(tupleLeafHash));
}

/** The salt `measureSettlementGas` builds the batch of `size` records from. */
export const batchSalt = (size: number) => `batch ${size}`;

/**
 * Deploys Verity's contracts on `rpcUrl` with fresh verifier keys, then settles one batch per
 * size (and `singles` one-record batches for the baseline), each co-signed with EIP-712
 * signatures by `threshold` verifiers, and reports each settleBatch's gasUsed.
 */
export async function measureSettlementGas(
  options: SettlementGasOptions,
): Promise<SettlementGasReport> {
  const log = options.log ?? (() => {});
  const verifierCount = options.verifiers ?? 3;
  const threshold = options.threshold ?? 2;
  const singles = options.singles ?? 10;
  const transport = http(options.rpcUrl);
  const account = privateKeyToAccount(ANVIL_DEPLOYER_KEY);
  const publicClient = createPublicClient({ chain: foundry, transport, pollingInterval: 50 });
  const walletClient = createWalletClient({
    account,
    chain: foundry,
    transport,
    pollingInterval: 50,
  });

  // The ledger wants signatures sorted by signer; settlementSignatures sorts them.
  const verifiers: LocalAccount[] = Array.from({ length: verifierCount }, () =>
    privateKeyToAccount(generatePrivateKey()),
  );
  const { ledger } = await deployVerityContracts({
    rpcUrl: options.rpcUrl,
    chainId: foundry.id,
    deployerKey: ANVIL_DEPLOYER_KEY,
    verifiers: verifiers.map((v) => v.address),
    threshold,
    pollingIntervalMs: 50,
  });
  log(`  contracts deployed; ledger ${ledger}`);
  const domain = ledgerDomain(foundry.id, ledger);
  const signers = verifiers.slice(0, threshold);
  let nextBatchId = 1n;

  const settleTree = async (tree: MerkleTree, count: number) => {
    const batch: SettlementBatch = { batchId: nextBatchId++, root: tree.root, count };
    const signatures = settlementSignatures(
      await Promise.all(signers.map((s) => signBatch(batch, domain, s))),
    );
    const hash = await walletClient.writeContract({
      address: ledger,
      abi: verityLedgerAbi,
      functionName: "settleBatch",
      args: [batch.batchId, batch.root, batch.count, signatures],
    });
    const [receipt, tx] = await Promise.all([
      publicClient.waitForTransactionReceipt({ hash }),
      publicClient.getTransaction({ hash }),
    ]);
    if (receipt.status !== "success") {
      throw new Error(`settleBatch of ${count} records reverted (${hash})`);
    }
    return { batchId: batch.batchId, gasUsed: receipt.gasUsed, calldataBytes: size(tx.input) };
  };

  const singleGas: bigint[] = [];
  for (const tuple of settlementRecords(singles, "single")) {
    singleGas.push((await settleTree(settlementTree([tuple]), 1)).gasUsed);
  }
  const oneTxPerInferenceGas = Number(singleGas.reduce((a, b) => a + b, 0n)) / singles;
  log(`  ${singles} one-record batches settled: ${oneTxPerInferenceGas.toFixed(0)} gas each`);

  const rows: SettlementGasRow[] = [];
  for (const count of options.sizes) {
    const started = performance.now();
    const tree = settlementTree(settlementRecords(count, batchSalt(count)));
    const treeMs = performance.now() - started;
    const settled = await settleTree(tree, count);
    rows.push({
      size: count,
      ...settled,
      gasPerInference: Number(settled.gasUsed) / count,
      treeMs,
    });
    log(`  ${count} records settled: ${settled.gasUsed} gas`);
  }
  return { ledger, verifiers: verifierCount, threshold, rows, oneTxPerInferenceGas, singles };
}
