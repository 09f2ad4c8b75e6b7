import {
  type Address,
  BaseError,
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeDeployData,
  formatEther,
  getAddress,
  getContractAddress,
  type Hex,
  http,
  InsufficientFundsError,
  isAddress,
  type PublicClient,
  WaitForTransactionReceiptTimeoutError,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  verifierRegistryAbi,
  verifierRegistryBytecode,
} from "../../contracts/generated/VerifierRegistry.ts";
import { verityLedgerAbi, verityLedgerBytecode } from "../../contracts/generated/VerityLedger.ts";
import { VerityError } from "../../src/errors.ts";

export interface DeployVerityContractsOptions {
  rpcUrl: string;
  /** The chain the deployment is meant for: the RPC must report this id, or nothing is sent. */
  chainId: number;
  /** 0x-hex secp256k1 key of the account that pays for and sends both deployments. */
  deployerKey: Hex;
  /** The initial verifier set: at least one address, no repeats. */
  verifiers: readonly Address[];
  /** How many distinct verifiers must sign a batch: 1 <= threshold <= verifiers.length. */
  threshold: number;
  /** Who manages the registry (a multisig, a timelock). Defaults to the deployer. */
  owner?: Address;
  /** How long to wait for each receipt. Default 120 s. */
  receiptTimeoutMs?: number;
  /** How often to poll the RPC for receipts. Default 1 s; a local anvil can take 50 ms. */
  pollingIntervalMs?: number;
  /** Progress lines (transaction hashes, addresses), for a human. */
  log?: (line: string) => void;
}

/** Where Verity's contracts live on one chain. `deployBlock` is where an indexer starts. */
export interface VerityDeployment {
  chainId: number;
  registry: Address;
  ledger: Address;
  deployBlock: number;
}

const invalidOption = (message: string, code: string, param: string) =>
  new VerityError(message, { status: 400, type: "invalid_request_error", code, param });

const rpcUnavailable = (message: string, cause: unknown) =>
  new VerityError(message, {
    status: 503,
    type: "service_unavailable",
    code: "rpc_unreachable",
    cause,
  });

// viem's short message ("HTTP request failed.") plus what the network said underneath
// (fetch's own cause: ECONNREFUSED, ENOTFOUND, ...).
function shortMessage(error: unknown): string {
  if (!(error instanceof BaseError)) return String(error);
  let innermost: Error = error;
  let systemCode: string | undefined;
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    innermost = cause;
    if ("code" in cause && typeof cause.code === "string") systemCode = cause.code;
  }
  const detail = systemCode ?? (innermost === error ? "" : innermost.message.split("\n")[0]);
  return detail ? `${error.shortMessage} (${detail})` : error.shortMessage;
}

function checkVerifierSet(verifiers: readonly Address[], threshold: number): Address[] {
  if (verifiers.length === 0) {
    throw invalidOption("at least one verifier is needed", "no_verifiers", "verifiers");
  }
  const checked = verifiers.map((v) => {
    if (!isAddress(v, { strict: false }) || BigInt(v) === 0n) {
      throw invalidOption(
        `verifier ${v} is not a non-zero address`,
        "invalid_verifier",
        "verifiers",
      );
    }
    return getAddress(v);
  });
  const seen = new Set<string>();
  for (const v of checked) {
    if (seen.has(v))
      throw invalidOption(`verifier ${v} is listed twice`, "duplicate_verifier", "verifiers");
    seen.add(v);
  }
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > checked.length) {
    throw invalidOption(
      `threshold must be an integer from 1 to ${checked.length} (the number of verifiers), got ${threshold}`,
      "invalid_threshold",
      "threshold",
    );
  }
  return checked;
}

// EIP-1559 chains need maxFeePerGas covered for the whole gas limit; legacy chains gasPrice.
async function feePerGas(client: PublicClient): Promise<bigint> {
  try {
    return (await client.estimateFeesPerGas()).maxFeePerGas;
  } catch {
    return client.getGasPrice();
  }
}

/**
 * Deploys `VerifierRegistry` (with the given verifiers and threshold) and then `VerityLedger`
 * bound to it, waiting for each receipt. Nothing is sent unless the RPC answers with the
 * expected chain id and the deployer can pay for both deployments at current gas prices.
 *
 * @throws VerityError: 400 for bad options (`invalid_threshold`, `duplicate_verifier`, ...),
 * `chain_id_mismatch` and `deployer_unfunded`; 503 `rpc_unreachable`; 502 `deploy_reverted`;
 * 504 `receipt_timeout`.
 */
export async function deployVerityContracts(
  options: DeployVerityContractsOptions,
): Promise<VerityDeployment> {
  const log = options.log ?? (() => {});
  const verifiers = checkVerifierSet(options.verifiers, options.threshold);
  if (!Number.isSafeInteger(options.chainId) || options.chainId < 1) {
    throw invalidOption(
      `chain id must be a positive integer, got ${options.chainId}`,
      "invalid_chain_id",
      "chainId",
    );
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(options.deployerKey)) {
    throw invalidOption(
      "the deployer key must be 0x followed by 64 hex digits",
      "invalid_key",
      "deployerKey",
    );
  }
  if (
    options.owner !== undefined &&
    (!isAddress(options.owner, { strict: false }) || BigInt(options.owner) === 0n)
  ) {
    throw invalidOption(
      `owner ${options.owner} is not a non-zero address`,
      "invalid_owner",
      "owner",
    );
  }
  const account = privateKeyToAccount(options.deployerKey);
  const owner = getAddress(options.owner ?? account.address);
  const chain = defineChain({
    id: options.chainId,
    name: `chain ${options.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [options.rpcUrl] } },
  });
  // One try, short timeout: a wrong URL should fail in seconds, not after viem's retries.
  const transport = http(options.rpcUrl, { retryCount: 0, timeout: 15_000 });
  const pollingInterval = options.pollingIntervalMs ?? 1_000;
  const client = createPublicClient({ chain, transport, pollingInterval });
  const wallet = createWalletClient({ account, chain, transport, pollingInterval });

  const rpc = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (cause) {
      throw rpcUnavailable(`${what} at ${options.rpcUrl} failed: ${shortMessage(cause)}`, cause);
    }
  };

  const rpcChainId = await rpc("reading the chain id", () => client.getChainId());
  if (rpcChainId !== options.chainId) {
    throw invalidOption(
      `the RPC at ${options.rpcUrl} serves chain ${rpcChainId}, not the expected ${options.chainId}`,
      "chain_id_mismatch",
      "chainId",
    );
  }

  const registryArgs = [owner, verifiers, BigInt(options.threshold)] as const;
  const [balance, nonce, fee] = await rpc("reading the deployer's balance and gas prices", () =>
    Promise.all([
      client.getBalance({ address: account.address }),
      client.getTransactionCount({ address: account.address, blockTag: "pending" }),
      feePerGas(client),
    ]),
  );
  // The ledger's constructor only stores the registry's address, so estimating it against
  // the address the registry will get is exact.
  const predictedRegistry = getContractAddress({ from: account.address, nonce: BigInt(nonce) });
  let registryGas: bigint;
  let ledgerGas: bigint;
  try {
    [registryGas, ledgerGas] = await Promise.all([
      client.estimateGas({
        account: account.address,
        data: encodeDeployData({
          abi: verifierRegistryAbi,
          bytecode: verifierRegistryBytecode,
          args: registryArgs,
        }),
      }),
      client.estimateGas({
        account: account.address,
        data: encodeDeployData({
          abi: verityLedgerAbi,
          bytecode: verityLedgerBytecode,
          args: [predictedRegistry],
        }),
      }),
    ]);
  } catch (cause) {
    throw new VerityError(`estimating the deployments' gas failed: ${shortMessage(cause)}`, {
      status: 502,
      type: "api_error",
      code: "estimate_failed",
      cause,
    });
  }
  const needed = (registryGas + ledgerGas) * fee;
  if (balance < needed) {
    throw invalidOption(
      `deployer ${account.address} holds ${formatEther(balance)} ETH; deploying needs about ${formatEther(needed)} ETH (${registryGas + ledgerGas} gas at ${fee} wei) on chain ${options.chainId}`,
      "deployer_unfunded",
      "deployerKey",
    );
  }

  const deploy = async (
    name: string,
    send: () => Promise<Hex>,
  ): Promise<{ address: Address; blockNumber: bigint }> => {
    let hash: Hex;
    try {
      hash = await send();
    } catch (cause) {
      if (cause instanceof BaseError && cause.walk((e) => e instanceof InsufficientFundsError)) {
        throw invalidOption(
          `deployer ${account.address} cannot pay for ${name}: ${cause.shortMessage}`,
          "deployer_unfunded",
          "deployerKey",
        );
      }
      throw rpcUnavailable(`sending ${name} failed: ${shortMessage(cause)}`, cause);
    }
    log(`${name}: sent ${hash}`);
    try {
      const receipt = await client.waitForTransactionReceipt({
        hash,
        timeout: options.receiptTimeoutMs ?? 120_000,
      });
      if (receipt.status !== "success" || !receipt.contractAddress) {
        throw new VerityError(`${name} deployment ${hash} reverted`, {
          status: 502,
          type: "api_error",
          code: "deploy_reverted",
          details: { hash },
        });
      }
      log(`${name}: ${receipt.contractAddress} in block ${receipt.blockNumber}`);
      return { address: getAddress(receipt.contractAddress), blockNumber: receipt.blockNumber };
    } catch (cause) {
      if (cause instanceof VerityError) throw cause;
      if (cause instanceof WaitForTransactionReceiptTimeoutError) {
        throw new VerityError(
          `no receipt for ${name} deployment ${hash} yet: ${cause.shortMessage}`,
          {
            status: 504,
            type: "service_unavailable",
            code: "receipt_timeout",
            cause,
            details: { hash },
          },
        );
      }
      throw rpcUnavailable(
        `waiting for ${name} deployment ${hash} failed: ${shortMessage(cause)}`,
        cause,
      );
    }
  };

  const registry = await deploy("VerifierRegistry", () =>
    wallet.deployContract({
      abi: verifierRegistryAbi,
      bytecode: verifierRegistryBytecode,
      args: registryArgs,
    }),
  );
  const ledger = await deploy("VerityLedger", () =>
    wallet.deployContract({
      abi: verityLedgerAbi,
      bytecode: verityLedgerBytecode,
      args: [registry.address],
    }),
  );
  return {
    chainId: options.chainId,
    registry: registry.address,
    ledger: ledger.address,
    deployBlock: Number(registry.blockNumber),
  };
}
