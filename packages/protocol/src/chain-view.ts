import { type Address, getAddress, type Hex, type PublicClient } from "viem";
import { verifierRegistryAbi } from "../../../contracts/generated/VerifierRegistry";
import { verityLedgerAbi } from "../../../contracts/generated/VerityLedger";

/** A ledger's batch as the ledger stores it; `root` is zero when the batch is not settled. */
export interface LedgerBatch {
  root: Hex;
  count: number;
  blockNumber: number;
}

/** Who a VerifierRegistry held, and the co-signature threshold it asked for. */
export interface RegistryState {
  verifiers: Set<Address>;
  threshold: number;
}

/**
 * What checking a record reads from the chain: the ledger's registry, batch and inclusion
 * check, a transaction's receipt, the head, and who the registry held at a block. Reads are of
 * the latest state and of event logs only, never of state at an old block: most RPC endpoints
 * are not archive nodes, and anvil restarted from a state file refuses such calls.
 */
export interface ChainView {
  chainId(): Promise<number>;
  blockNumber(): Promise<number>;
  registryOf(ledger: Address): Promise<Address>;
  batch(ledger: Address, batchId: bigint): Promise<LedgerBatch>;
  isIncluded(ledger: Address, batchId: bigint, proof: readonly Hex[], leaf: Hex): Promise<boolean>;
  transaction(hash: Hex): Promise<{ blockNumber: number; to: Address | null; ok: boolean } | null>;
  /** The registry as of the end of block `blockNumber`, replayed from its events. */
  registryAt(registry: Address, blockNumber: number): Promise<RegistryState>;
}

/** The `ChainView` of a viem public client. */
export function chainView(client: PublicClient): ChainView {
  return {
    chainId: () => client.getChainId(),
    blockNumber: async () => Number(await client.getBlockNumber()),
    registryOf: (ledger) =>
      client.readContract({ address: ledger, abi: verityLedgerAbi, functionName: "registry" }),
    async batch(ledger, batchId) {
      const batch = await client.readContract({
        address: ledger,
        abi: verityLedgerAbi,
        functionName: "batch",
        args: [batchId],
      });
      return { root: batch.root, count: batch.count, blockNumber: Number(batch.blockNumber) };
    },
    isIncluded: (ledger, batchId, proof, leaf) =>
      client.readContract({
        address: ledger,
        abi: verityLedgerAbi,
        functionName: "isIncluded",
        args: [batchId, [...proof], leaf],
      }),
    async transaction(hash) {
      try {
        const receipt = await client.getTransactionReceipt({ hash });
        return {
          blockNumber: Number(receipt.blockNumber),
          to: receipt.to ? getAddress(receipt.to) : null,
          ok: receipt.status === "success",
        };
      } catch {
        return null;
      }
    },
    async registryAt(registry, blockNumber) {
      const logs = await client.getContractEvents({
        address: registry,
        abi: verifierRegistryAbi,
        fromBlock: 0n,
        toBlock: BigInt(blockNumber),
        strict: true,
      });
      // Logs come in chain order; replaying them gives the state at the end of the block.
      const state: RegistryState = { verifiers: new Set(), threshold: 0 };
      for (const log of logs) {
        if (log.removed) continue;
        if (log.eventName === "VerifierAdded") state.verifiers.add(getAddress(log.args.verifier));
        if (log.eventName === "VerifierRemoved") {
          state.verifiers.delete(getAddress(log.args.verifier));
        }
        if (log.eventName === "ThresholdChanged") state.threshold = Number(log.args.newThreshold);
      }
      return state;
    },
  };
}
