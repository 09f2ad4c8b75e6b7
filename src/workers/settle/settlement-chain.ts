import {
  type Address,
  BaseError,
  type Chain,
  ContractFunctionRevertedError,
  createPublicClient,
  defineChain,
  encodeFunctionData,
  type Hex,
  http,
  keccak256,
  type PublicClient,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  type Transport,
} from "viem";
import { verifierRegistryAbi } from "../../../contracts/generated/VerifierRegistry";
import { verityLedgerAbi } from "../../../contracts/generated/VerityLedger";
import { VerityError } from "../../errors";
import type { SettleConfig } from "./settle-config";

/** A batch as `settleBatch` takes it. */
export interface SettleCall {
  batchId: number;
  root: Hex;
  count: number;
  /** Sorted by signer, as `settlementSignatures` returns them. */
  signatures: Hex[];
}

/** A signed `settleBatch` transaction, not yet sent: its hash is known before it leaves. */
export interface SignedSettlement {
  hash: Hex;
  nonce: number;
  serialized: Hex;
}

/** Where a transaction landed. */
export interface Inclusion {
  txHash: Hex;
  blockNumber: number;
  blockHash: Hex;
}

/** The ledger's custom error a `settleBatch` would revert with, decoded. */
export interface SettleRevert {
  errorName: string;
  args: readonly unknown[];
}

const RPC_TIMEOUT_MS = 10_000;
const GAS_HEADROOM_PERCENT = 120n;

/** The RPC endpoint failed or did not answer: the tick stops and tries again later. */
export const rpcUnavailable = (what: string, cause: unknown) =>
  new VerityError(`${what} failed: ${shortMessage(cause)}`, {
    status: 503,
    type: "service_unavailable",
    code: "rpc_unavailable",
    cause,
  });

/** viem's short message, without the RPC URL (which may carry an API key). */
export function shortMessage(error: unknown): string {
  if (error instanceof VerityError) return error.message;
  if (error instanceof BaseError) return error.shortMessage;
  return error instanceof Error ? error.message : String(error);
}

const revertOf = (error: unknown): SettleRevert | null => {
  if (!(error instanceof BaseError)) return null;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError && reverted.data) {
    return { errorName: reverted.data.errorName, args: reverted.data.args ?? [] };
  }
  return null;
};

/**
 * The settler's view of the chain: reads of the ledger and registry, receipts and blocks, and
 * signing and sending `settleBatch` with an explicit nonce. Every RPC failure is a
 * `VerityError` 503 `rpc_unavailable`; nothing here retries beyond viem's one retry.
 */
export class SettlementChain {
  readonly chain: Chain;
  private readonly client: PublicClient<Transport, Chain>;

  constructor(private readonly config: SettleConfig) {
    this.chain = defineChain({
      id: config.chainId,
      name: `chain ${config.chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [config.rpcUrl] } },
    });
    this.client = createPublicClient({
      chain: this.chain,
      transport: http(config.rpcUrl, { retryCount: 1, timeout: RPC_TIMEOUT_MS }),
    });
  }

  private async rpc<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw rpcUnavailable(what, error);
    }
  }

  /** Fails unless the RPC serves the configured chain: signatures are bound to it. */
  async checkChainId(): Promise<void> {
    const id = await this.rpc("reading the chain id", () => this.client.getChainId());
    if (id !== this.config.chainId) {
      throw new VerityError(
        `The settler is misconfigured: RPC_URL serves chain ${id}, but CHAIN_ID is ${this.config.chainId}.`,
        { status: 503, type: "service_unavailable", code: "settler_misconfigured" },
      );
    }
  }

  async threshold(): Promise<number> {
    const value = await this.rpc("reading the registry's threshold", () =>
      this.client.readContract({
        address: this.config.registry,
        abi: verifierRegistryAbi,
        functionName: "threshold",
      }),
    );
    return Number(value);
  }

  async isVerifier(address: Address): Promise<boolean> {
    return this.rpc(`checking that ${address} is a registered verifier`, () =>
      this.client.readContract({
        address: this.config.registry,
        abi: verifierRegistryAbi,
        functionName: "isVerifier",
        args: [address],
      }),
    );
  }

  /** The ledger's record of `batchId` at the chain head; `root` is 0x00..00 when unsettled. */
  async ledgerBatch(batchId: number): Promise<{ root: Hex; count: number; blockNumber: number }> {
    const batch = await this.rpc(`reading batch ${batchId} on the ledger`, () =>
      this.client.readContract({
        address: this.config.ledger,
        abi: verityLedgerAbi,
        functionName: "batch",
        args: [BigInt(batchId)],
      }),
    );
    return { root: batch.root, count: batch.count, blockNumber: Number(batch.blockNumber) };
  }

  async isSettled(batchId: number): Promise<boolean> {
    return this.rpc(`reading batch ${batchId} on the ledger`, () =>
      this.client.readContract({
        address: this.config.ledger,
        abi: verityLedgerAbi,
        functionName: "isSettled",
        args: [BigInt(batchId)],
      }),
    );
  }

  /**
   * The transaction that settled `batchId` with `root`, found by its `BatchSettled` event in the
   * block the ledger recorded; null if that block has no such event (a reorg moved it).
   */
  async settledBy(batchId: number, root: Hex, blockNumber: number): Promise<Inclusion | null> {
    const logs = await this.rpc(`finding the BatchSettled event of batch ${batchId}`, () =>
      this.client.getContractEvents({
        address: this.config.ledger,
        abi: verityLedgerAbi,
        eventName: "BatchSettled",
        args: { batchId: BigInt(batchId), root },
        fromBlock: BigInt(blockNumber),
        toBlock: BigInt(blockNumber),
        strict: true,
      }),
    );
    const log = logs.find((l) => !l.removed);
    if (!log?.transactionHash || log.blockNumber === null || !log.blockHash) return null;
    return {
      txHash: log.transactionHash,
      blockNumber: Number(log.blockNumber),
      blockHash: log.blockHash,
    };
  }

  /** The receipt of `hash` on the node's canonical chain, or null when there is none. */
  async receipt(hash: Hex): Promise<(Inclusion & { status: "success" | "reverted" }) | null> {
    try {
      const receipt = await this.client.getTransactionReceipt({ hash });
      return {
        txHash: hash,
        status: receipt.status,
        blockNumber: Number(receipt.blockNumber),
        blockHash: receipt.blockHash,
      };
    } catch (error) {
      if (error instanceof TransactionReceiptNotFoundError) return null;
      throw rpcUnavailable(`reading the receipt of ${hash}`, error);
    }
  }

  /** Whether the node knows `hash` at all (pending in its pool, or mined). */
  async knowsTransaction(hash: Hex): Promise<boolean> {
    try {
      await this.client.getTransaction({ hash });
      return true;
    } catch (error) {
      if (error instanceof TransactionNotFoundError) return false;
      throw rpcUnavailable(`looking up transaction ${hash}`, error);
    }
  }

  async blockNumber(): Promise<number> {
    const head = await this.rpc("reading the block number", () =>
      this.client.getBlockNumber({ cacheTime: 0 }),
    );
    return Number(head);
  }

  /** The hash of the canonical block at `blockNumber`, or null past the head. */
  async blockHash(blockNumber: number): Promise<Hex | null> {
    const block = await this.rpc(`reading block ${blockNumber}`, async () => {
      try {
        return await this.client.getBlock({ blockNumber: BigInt(blockNumber) });
      } catch (error) {
        if (error instanceof BaseError && error.name === "BlockNotFoundError") return null;
        throw error;
      }
    });
    return block?.hash ?? null;
  }

  /** The settler's mined (`latest`) and next (`pending`) nonces. */
  async nonces(address: Address): Promise<{ latest: number; pending: number }> {
    const [latest, pending] = await this.rpc("reading the settler's nonce", () =>
      Promise.all([
        this.client.getTransactionCount({ address, blockTag: "latest" }),
        this.client.getTransactionCount({ address, blockTag: "pending" }),
      ]),
    );
    return { latest, pending };
  }

  /** The ledger's custom error if `settleBatch` would revert now, null if it would succeed. */
  async simulateSettle(call: SettleCall): Promise<SettleRevert | null> {
    try {
      await this.client.simulateContract({
        account: this.config.account.address,
        address: this.config.ledger,
        abi: verityLedgerAbi,
        functionName: "settleBatch",
        args: [BigInt(call.batchId), call.root, call.count, call.signatures],
      });
      return null;
    } catch (error) {
      const revert = revertOf(error);
      if (revert) return revert;
      throw rpcUnavailable(`simulating settleBatch(${call.batchId})`, error);
    }
  }

  /** Signs `settleBatch` with `nonce`, gas and fees estimated now; nothing is sent. */
  async signSettle(call: SettleCall, nonce: number): Promise<SignedSettlement> {
    const account = this.config.account;
    const data = encodeFunctionData({
      abi: verityLedgerAbi,
      functionName: "settleBatch",
      args: [BigInt(call.batchId), call.root, call.count, call.signatures],
    });
    const gas = await this.rpc(`estimating gas for settleBatch(${call.batchId})`, () =>
      this.client.estimateGas({ account: account.address, to: this.config.ledger, data }),
    );
    const base = {
      chainId: this.config.chainId,
      to: this.config.ledger,
      data,
      nonce,
      gas: (gas * GAS_HEADROOM_PERCENT) / 100n,
    };
    const fees = await this.rpc("estimating fees", async () => {
      try {
        const { maxFeePerGas, maxPriorityFeePerGas } = await this.client.estimateFeesPerGas();
        return { type: "eip1559", maxFeePerGas, maxPriorityFeePerGas } as const;
      } catch (error) {
        if (!(error instanceof BaseError && error.name === "Eip1559FeesNotSupportedError")) {
          throw error;
        }
        return { type: "legacy", gasPrice: await this.client.getGasPrice() } as const;
      }
    });
    const serialized = await account.signTransaction({ ...base, ...fees });
    return { hash: keccak256(serialized), nonce, serialized };
  }

  /**
   * Sends a signed transaction. A node that already has it is fine; a nonce the chain has
   * used meanwhile is reported as `nonce_used` so the caller can pick another.
   */
  async send(signed: SignedSettlement): Promise<"sent" | "nonce_used"> {
    try {
      await this.client.sendRawTransaction({ serializedTransaction: signed.serialized });
      return "sent";
    } catch (error) {
      const text = `${shortMessage(error)} ${error instanceof BaseError ? error.details : ""}`;
      if (/already known|already imported|known transaction/i.test(text)) return "sent";
      if (/nonce too low|nonce has already been used|NonceTooLow/i.test(text)) return "nonce_used";
      throw rpcUnavailable(`sending settleBatch ${signed.hash}`, error);
    }
  }
}
