import { type LedgerDomain, ledgerDomain } from "@verity/protocol/settlement-batch";
import { type Address, getAddress, isAddress } from "viem";
import { misconfigured } from "./verifier-config";

/** What a verifier needs to co-sign settlement batches, read from its environment. */
export interface SettlementConfig {
  /** The JSON-RPC endpoint the on-chain registry is read through. */
  rpcUrl: string;
  chainId: number;
  /** The `VerifierRegistry` contract: which verifiers count, and the threshold. */
  registry: Address;
  /** The only `VerityLedger` this verifier signs batches for. */
  ledger: Address;
  /** The settler whose signed proposals alone this verifier co-signs (`SETTLER_ADDRESS`). */
  settler: Address;
  /** The least quorum accepted whatever the registry's threshold (`MIN_QUORUM`, default 2). */
  minQuorum: number;
  domain: LedgerDomain;
}

const DEFAULT_MIN_QUORUM = 2;

const positiveInt = (name: string, value: string | undefined, fallback?: number): number => {
  const text = (value ?? "").trim();
  if (text === "" && fallback !== undefined) return fallback;
  if (!/^[1-9][0-9]*$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw misconfigured(`${name} must be a positive integer, not '${text}'.`);
  }
  return Number(text);
};

const address = (name: string, value: string | undefined): Address => {
  const text = (value ?? "").trim();
  if (!isAddress(text, { strict: false })) {
    throw misconfigured(`${name} must be an address to co-sign settlement batches, not '${text}'.`);
  }
  return getAddress(text);
};

/**
 * The settlement part of the verifier's configuration. Read only by the co-signing route, so a
 * verifier that does not settle can leave these variables empty and still judge tasks.
 *
 * @throws VerityError 503 `verifier_misconfigured` naming the variable at fault.
 */
export function settlementConfig(env: VerifyEnv): SettlementConfig {
  const rpcUrl = (env.RPC_URL ?? "").trim();
  if (!URL.canParse(rpcUrl) || !/^https?:$/.test(new URL(rpcUrl).protocol)) {
    throw misconfigured(`RPC_URL must be an http(s) URL, not '${rpcUrl}'.`);
  }
  const chainId = positiveInt("CHAIN_ID", env.CHAIN_ID);
  const registry = address("REGISTRY_ADDRESS", env.REGISTRY_ADDRESS);
  const ledger = address("LEDGER_ADDRESS", env.LEDGER_ADDRESS);
  return {
    rpcUrl,
    chainId,
    registry,
    ledger,
    settler: address("SETTLER_ADDRESS", env.SETTLER_ADDRESS),
    minQuorum: positiveInt("MIN_QUORUM", env.MIN_QUORUM, DEFAULT_MIN_QUORUM),
    domain: ledgerDomain(chainId, ledger),
  };
}
