import {
  type Address,
  BaseError,
  ContractFunctionZeroDataError,
  createPublicClient,
  getAddress,
  http,
} from "viem";
import { verifierRegistryAbi } from "../../../contracts/generated/VerifierRegistry";
import { batchRefusal } from "./batch-refusal";
import type { SettlementConfig } from "./settlement-config";
import { misconfigured } from "./verifier-config";

/** The on-chain `VerifierRegistry` as read at one moment. */
export interface OnChainRegistry {
  /** Every registered verifier, EIP-55 checksummed. */
  verifiers: ReadonlySet<Address>;
  /** How many distinct registered verifiers must co-sign a batch, per the contract. */
  threshold: bigint;
}

/** How long a read is reused: registry changes are rare, and a batch may wait this long for them. */
export const REGISTRY_CACHE_MS = 30_000;

const RPC_TIMEOUT_MS = 10_000;

// One read per isolate and registry, shared by concurrent requests while in flight.
const cache = new Map<string, { readAt: number; registry: Promise<OnChainRegistry> }>();

async function read(config: RegistryLocation): Promise<OnChainRegistry> {
  const client = createPublicClient({
    transport: http(config.rpcUrl, { retryCount: 1, timeout: RPC_TIMEOUT_MS }),
  });
  const contract = { address: config.registry, abi: verifierRegistryAbi } as const;
  let chainId: number;
  let verifiers: readonly Address[];
  let threshold: bigint;
  try {
    [chainId, verifiers, threshold] = await Promise.all([
      client.getChainId(),
      client.readContract({ ...contract, functionName: "verifiers" }),
      client.readContract({ ...contract, functionName: "threshold" }),
    ]);
  } catch (error) {
    if (
      error instanceof BaseError &&
      error.walk((e) => e instanceof ContractFunctionZeroDataError)
    ) {
      throw misconfigured(
        `REGISTRY_ADDRESS ${config.registry} is not a VerifierRegistry on chain ${config.chainId} (its calls return no data).`,
      );
    }
    // The RPC URL may carry an API key, so only viem's short message goes to the client.
    const reason = error instanceof BaseError ? error.shortMessage : String(error);
    throw batchRefusal(
      "registry_unavailable",
      `The on-chain verifier registry could not be read (${reason}); this verifier cannot check quorums until its RPC endpoint answers. Try again later.`,
      null,
      error,
    );
  }
  if (chainId !== config.chainId) {
    throw misconfigured(`RPC_URL serves chain ${chainId}, but CHAIN_ID is ${config.chainId}.`);
  }
  return { verifiers: new Set(verifiers.map((v) => getAddress(v))), threshold };
}

/** Where the registry is read: the settlement configuration's RPC endpoint, chain and address. */
export type RegistryLocation = Pick<SettlementConfig, "rpcUrl" | "chainId" | "registry">;

/**
 * The registered verifiers and the threshold, read with `eth_call`s through `rpcUrl` and reused
 * for `REGISTRY_CACHE_MS` per isolate (per RPC URL, chain and registry). A failed read is not
 * cached.
 *
 * @throws VerityError 503 `registry_unavailable` when the RPC endpoint fails or does not answer,
 * 503 `verifier_misconfigured` when it serves another chain or there is no contract at `registry`.
 */
export async function readVerifierRegistry(
  location: RegistryLocation,
  now: number = Date.now(),
): Promise<OnChainRegistry> {
  const key = `${location.rpcUrl}\n${location.chainId}\n${location.registry}`;
  const hit = cache.get(key);
  if (hit && now - hit.readAt < REGISTRY_CACHE_MS) return hit.registry;
  const registry = read(location);
  cache.set(key, { readAt: now, registry });
  try {
    return await registry;
  } catch (error) {
    if (cache.get(key)?.registry === registry) cache.delete(key);
    throw error;
  }
}
