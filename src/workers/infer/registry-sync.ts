import { createPublicClient, getAddress, http } from "viem";
import { verifierRegistryAbi } from "../../../contracts/generated/VerifierRegistry";
import { VerifierRegistry } from "../../db/verifier-registry";

/**
 * Brings the coordinator's verifier table in line with the on-chain VerifierRegistry, the source
 * of truth for which verifier keys count. Without `REGISTRY_ADDRESS` the D1 table is the registry.
 * Returns null when there is nothing to follow.
 */
export async function syncRegistryFromChain(env: Env, now = Date.now()) {
  if (!env.REGISTRY_ADDRESS) return null;
  const client = createPublicClient({
    transport: http(env.RPC_URL, { retryCount: 1, timeout: 10_000 }),
  });
  const onChain = await client.readContract({
    address: getAddress(env.REGISTRY_ADDRESS),
    abi: verifierRegistryAbi,
    functionName: "verifiers",
  });
  const { removed } = await new VerifierRegistry(env.DB).syncWith(onChain, now);
  return { onChain: onChain.length, removed };
}
