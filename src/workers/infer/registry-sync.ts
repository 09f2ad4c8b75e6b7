import { createPublicClient, http } from "viem";
import { verifierRegistryAbi } from "../../../contracts/generated/VerifierRegistry";
import { VerifierRegistry } from "../../db/verifier-registry";
import { gatewayConfig } from "./gateway-config";

/**
 * Brings the coordinator's verifier table in line with the on-chain VerifierRegistry, the source
 * of truth for which verifier keys count. Without `REGISTRY_ADDRESS` the D1 table is the registry.
 * Returns null when there is nothing to follow.
 */
export async function syncRegistryFromChain(env: Env, now = Date.now()) {
  const { registry } = gatewayConfig(env);
  if (!registry) return null;
  const client = createPublicClient({
    transport: http(registry.rpcUrl, { retryCount: 1, timeout: 10_000 }),
  });
  const onChain = await client.readContract({
    address: registry.address,
    abi: verifierRegistryAbi,
    functionName: "verifiers",
  });
  const { removed } = await new VerifierRegistry(env.DB).syncWith(onChain, now);
  return { onChain: onChain.length, removed };
}
