import { type Address, getAddress, type Hex, isAddress, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { VerityError } from "../../errors";
import { VerifierUrlPolicy } from "./verifier-url-policy";

/**
 * What the gateway reads from its environment besides bindings (see wrangler.toml), parsed once
 * per isolate. The round's own settings are `roundConfig`, the backends' `backendRegistry`.
 */
export interface GatewayConfig {
  /** The inference node's key, which signs receipts; null when missing or malformed. */
  nodeAccount: LocalAccount | null;
  /** The coordinator's key, which signs tasks; null when missing or malformed. */
  coordinatorAccount: LocalAccount | null;
  /** The on-chain VerifierRegistry the coordinator follows; null: the D1 table is the registry. */
  registry: { address: Address; rpcUrl: string } | null;
  /** Which URLs verifiers may announce (see verifier-url-policy.ts). */
  verifierUrlPolicy: VerifierUrlPolicy;
  /** `VERITY_BENCH=1`: the bench's bare-handler routes are served. */
  bench: boolean;
}

/** An operator's mistake: the gateway cannot do this until its configuration is fixed. */
export const gatewayMisconfigured = (message: string, code = "gateway_misconfigured") =>
  new VerityError(`The gateway is misconfigured: ${message}`, {
    status: 503,
    type: "service_unavailable",
    code,
  });

// A key that is missing or malformed disables what it signs, not the whole gateway: the caller
// that needs it refuses with its own error (see `nodeAccountOf`).
const accountOf = (key: string | undefined): LocalAccount | null => {
  const text = (key ?? "").trim();
  return /^0x[0-9a-fA-F]{64}$/.test(text) ? privateKeyToAccount(text as Hex) : null;
};

let cached: { key: string; config: GatewayConfig } | undefined;

/**
 * The gateway's configuration, parsed once per isolate and reused while the environment is
 * unchanged.
 *
 * @throws VerityError 503 `gateway_misconfigured` naming the variable at fault.
 */
export function gatewayConfig(env: Env): GatewayConfig {
  const key = JSON.stringify([
    env.INFERENCE_NODE_KEY,
    env.COORDINATOR_KEY,
    env.REGISTRY_ADDRESS,
    env.RPC_URL,
    env.VERIFIER_URL_POLICY,
    env.VERITY_BENCH,
  ]);
  if (cached?.key === key) return cached.config;
  const policy = VerifierUrlPolicy.safeParse(env.VERIFIER_URL_POLICY?.trim() || undefined);
  if (!policy.success) {
    throw gatewayMisconfigured(
      `VERIFIER_URL_POLICY must be public-https or local, not '${env.VERIFIER_URL_POLICY}'.`,
    );
  }
  const registryAddress = (env.REGISTRY_ADDRESS ?? "").trim();
  let registry: GatewayConfig["registry"] = null;
  if (registryAddress !== "") {
    if (!isAddress(registryAddress, { strict: false })) {
      throw gatewayMisconfigured(`REGISTRY_ADDRESS must be an address, not '${registryAddress}'.`);
    }
    const rpcUrl = (env.RPC_URL ?? "").trim();
    if (!URL.canParse(rpcUrl) || !/^https?:$/.test(new URL(rpcUrl).protocol)) {
      throw gatewayMisconfigured(`RPC_URL must be an http(s) URL, not '${rpcUrl}'.`);
    }
    registry = { address: getAddress(registryAddress), rpcUrl };
  }
  const config: GatewayConfig = {
    nodeAccount: accountOf(env.INFERENCE_NODE_KEY),
    coordinatorAccount: accountOf(env.COORDINATOR_KEY),
    registry,
    verifierUrlPolicy: policy.data,
    bench: env.VERITY_BENCH === "1",
  };
  cached = { key, config };
  return config;
}
