import { MAX_BATCH_OUTCOMES } from "@verity/protocol/batch-sign-request";
import { type Address, getAddress, type Hex, isAddress } from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { VerityError } from "../../errors";

/** What the settler needs, read from its environment (see wrangler.settle.toml). */
export interface SettleConfig {
  rpcUrl: string;
  chainId: number;
  ledger: Address;
  registry: Address;
  /** Most records per batch: 1 to `MAX_BATCH_OUTCOMES`. */
  batchSize: number;
  /** How deep a settling transaction must be (its own block counts) to be final. */
  confirmations: number;
  /** 0: cron only; otherwise the Durable Object alarm ticks this often. */
  intervalMs: number;
  /** Co-signatures to collect; null means the registry's `threshold()`. */
  cosignQuorum: number | null;
  /** How long a transaction the node no longer knows is given before it is sent again. */
  resubmitAfterMs: number;
  /** The key that sends `settleBatch`; its address names the settler's Durable Object. */
  account: PrivateKeyAccount;
}

/** An operator's mistake: the settler cannot work until its configuration is fixed. */
export const settlerMisconfigured = (message: string) =>
  new VerityError(`The settler is misconfigured: ${message}`, {
    status: 503,
    type: "service_unavailable",
    code: "settler_misconfigured",
  });

function integer(name: string, value: string | undefined, min: number, fallback?: number): number {
  const text = (value ?? "").trim();
  if (text === "" && fallback !== undefined) return fallback;
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < min) {
    throw settlerMisconfigured(`${name} must be an integer of at least ${min}, not '${text}'.`);
  }
  return Number(text);
}

function address(name: string, value: string | undefined): Address {
  const text = (value ?? "").trim();
  if (!isAddress(text, { strict: false }) || BigInt(text) === 0n) {
    throw settlerMisconfigured(`${name} must be a contract address, not '${text}'.`);
  }
  return getAddress(text);
}

function settlerAccount(key: string | undefined): PrivateKeyAccount {
  const text = (key ?? "").trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) {
    throw settlerMisconfigured("SETTLER_KEY must be 0x followed by 64 hex digits.");
  }
  return privateKeyToAccount(text as Hex);
}

let cached: { key: string; config: SettleConfig } | undefined;

/**
 * The settler's configuration, parsed once per isolate and reused while the environment is
 * unchanged.
 *
 * @throws VerityError 503 `settler_misconfigured` naming the variable at fault.
 */
export function settleConfig(env: SettleEnv): SettleConfig {
  const key = JSON.stringify([
    env.RPC_URL,
    env.CHAIN_ID,
    env.LEDGER_ADDRESS,
    env.REGISTRY_ADDRESS,
    env.BATCH_SIZE,
    env.CONFIRMATIONS,
    env.SETTLE_INTERVAL_MS,
    env.COSIGN_QUORUM,
    env.RESUBMIT_AFTER_MS,
    env.SETTLER_KEY,
  ]);
  if (cached?.key === key) return cached.config;
  const rpcUrl = (env.RPC_URL ?? "").trim();
  if (!URL.canParse(rpcUrl) || !/^https?:$/.test(new URL(rpcUrl).protocol)) {
    throw settlerMisconfigured(`RPC_URL must be an http(s) URL, not '${rpcUrl}'.`);
  }
  const batchSize = integer("BATCH_SIZE", env.BATCH_SIZE, 1, 1000);
  if (batchSize > MAX_BATCH_OUTCOMES) {
    throw settlerMisconfigured(
      `BATCH_SIZE must be at most ${MAX_BATCH_OUTCOMES}, the most outcomes a verifier co-signs at once, not ${batchSize}.`,
    );
  }
  const quorum = (env.COSIGN_QUORUM ?? "").trim();
  const config: SettleConfig = {
    rpcUrl,
    chainId: integer("CHAIN_ID", env.CHAIN_ID, 1),
    ledger: address("LEDGER_ADDRESS", env.LEDGER_ADDRESS),
    registry: address("REGISTRY_ADDRESS", env.REGISTRY_ADDRESS),
    batchSize,
    confirmations: integer("CONFIRMATIONS", env.CONFIRMATIONS, 1, 2),
    intervalMs: integer("SETTLE_INTERVAL_MS", env.SETTLE_INTERVAL_MS, 0, 0),
    cosignQuorum: quorum === "" ? null : integer("COSIGN_QUORUM", quorum, 1),
    resubmitAfterMs: integer("RESUBMIT_AFTER_MS", env.RESUBMIT_AFTER_MS, 0, 60_000),
    account: settlerAccount(env.SETTLER_KEY),
  };
  cached = { key, config };
  return config;
}

/** The settler's address without parsing the rest of the configuration (to name its DO). */
export function settlerAddress(env: Pick<SettleEnv, "SETTLER_KEY">): Address {
  return settlerAccount(env.SETTLER_KEY).address;
}
