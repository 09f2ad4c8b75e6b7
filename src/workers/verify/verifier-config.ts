import {
  createVerificationPolicy,
  policyHash,
  type VerificationPolicy,
} from "@verity/protocol/policy";
import { type Address, getAddress, type Hex, isAddress } from "viem";
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { z } from "zod";
import { createModelRegistry, type ModelRegistry } from "../../backends/registry";
import { VerityError } from "../../errors";
import { FAULT_MODES, type FaultMode, isFaultMode } from "./fault-mode";

/** What a verifier needs to judge tasks, read from its environment. */
export interface VerifierConfig {
  /** The registered key: its address is the verifier's identity. */
  account: PrivateKeyAccount;
  /** The key verdicts and heartbeats are signed with: `account`, except in `wrong-key` mode. */
  signer: PrivateKeyAccount;
  /** The only key whose tasks are accepted. */
  coordinator: Address;
  policy: VerificationPolicy;
  policyHash: Hex;
  models: ModelRegistry;
  /** The ids of the models this verifier can re-execute (deterministic ones it serves). */
  reExecutable: string[];
  faultMode: FaultMode;
  taskMaxAgeMs: number;
}

/** Where and how often heartbeats go. */
export interface HeartbeatConfig {
  coordinatorUrl: string;
  publicUrl: string;
  intervalMs: number;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;

/** An operator's mistake: the verifier cannot work until its configuration is fixed. */
export const misconfigured = (message: string) =>
  new VerityError(`This verifier is misconfigured: ${message}`, {
    status: 503,
    type: "service_unavailable",
    code: "verifier_misconfigured",
  });

const positiveInt = (name: string, value: string | undefined, fallback?: number): number => {
  const text = (value ?? "").trim();
  if (text === "" && fallback !== undefined) return fallback;
  if (!/^[1-9][0-9]*$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw misconfigured(`${name} must be a positive integer, not '${text}'.`);
  }
  return Number(text);
};

const DenyPatterns = z.array(z.string());

function parseDenyPatterns(value: string | undefined): string[] {
  const text = (value ?? "").trim();
  if (text === "") return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw misconfigured("DENY_PATTERNS must be a JSON array of regular expressions.");
  }
  const parsed = DenyPatterns.safeParse(json);
  if (!parsed.success) throw misconfigured("DENY_PATTERNS must be a JSON array of strings.");
  return parsed.data;
}

function parseAddress(name: string, value: string | undefined): Address {
  const text = (value ?? "").trim();
  if (!isAddress(text, { strict: false }))
    throw misconfigured(`${name} must be an address, not '${text}'.`);
  return getAddress(text);
}

function buildPolicy(env: VerifyEnv): VerificationPolicy {
  const inferenceNodes = env.INFERENCE_NODES.split(",")
    .map((a) => a.trim())
    .filter(Boolean)
    .map((a) => parseAddress("each of INFERENCE_NODES", a));
  const cosine = Number((env.EMBEDDING_MIN_COSINE ?? "").trim() || "0.9999");
  const options = {
    inferenceNodes,
    maxResponseChars: positiveInt("MAX_RESPONSE_CHARS", env.MAX_RESPONSE_CHARS),
    denyPatterns: parseDenyPatterns(env.DENY_PATTERNS),
    embeddingMinCosine: cosine,
  };
  try {
    return createVerificationPolicy(options);
  } catch (error) {
    const issue = error instanceof z.ZodError ? error.issues[0] : undefined;
    throw misconfigured(
      `the verification policy is invalid (${issue ? `${issue.path.join(".")}: ${issue.message}` : String(error)}); check DENY_PATTERNS and EMBEDDING_MIN_COSINE.`,
    );
  }
}

function buildModels(env: VerifyEnv): ModelRegistry {
  try {
    const models: ModelRegistry = createModelRegistry(env);
    models.list();
    return models;
  } catch (error) {
    if (error instanceof VerityError) throw error;
    throw misconfigured(
      `the model backends are invalid: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

// The wrong-key fault's key: random, made once per isolate (random values cannot be drawn at
// global scope in Workers, so lazily).
let rogue: PrivateKeyAccount | undefined;
const rogueAccount = () => {
  rogue ??= privateKeyToAccount(generatePrivateKey());
  return rogue;
};

let cached: { key: readonly unknown[]; config: VerifierConfig } | undefined;

/**
 * The verifier's configuration, parsed once per isolate and reused while the environment it
 * came from is unchanged.
 *
 * @throws VerityError 503 `verifier_misconfigured` naming the variable at fault.
 */
export function verifierConfig(env: VerifyEnv): VerifierConfig {
  const key = [
    env.VERIFIER_KEY,
    env.COORDINATOR_ADDRESS,
    env.INFERENCE_NODES,
    env.MAX_RESPONSE_CHARS,
    env.DENY_PATTERNS,
    env.EMBEDDING_MIN_COSINE,
    env.FAULT_MODE,
    env.TASK_MAX_AGE_MS,
    env.BACKENDS,
    env.AI,
    env.OPENAI_COMPAT_URL,
    env.OPENAI_COMPAT_MODELS,
  ];
  if (cached && key.every((part, i) => Object.is(part, cached?.key[i]))) return cached.config;

  const secret = (env.VERIFIER_KEY ?? "").trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(secret)) {
    throw misconfigured("set the VERIFIER_KEY secret to a 0x-prefixed 32-byte hex private key.");
  }
  const account = privateKeyToAccount(secret as Hex);
  const faultMode = (env.FAULT_MODE ?? "").trim();
  if (!isFaultMode(faultMode)) {
    throw misconfigured(
      `FAULT_MODE must be one of ${FAULT_MODES.map((m) => `'${m}'`).join(", ")}.`,
    );
  }
  const policy = buildPolicy(env);
  const models = buildModels(env);
  const config: VerifierConfig = {
    account,
    signer: faultMode === "wrong-key" ? rogueAccount() : account,
    coordinator: parseAddress("COORDINATOR_ADDRESS", env.COORDINATOR_ADDRESS),
    policy,
    policyHash: policyHash(policy),
    models,
    reExecutable: models
      .list()
      .filter((m) => m.deterministic)
      .map((m) => m.id),
    faultMode,
    taskMaxAgeMs: positiveInt("TASK_MAX_AGE_MS", env.TASK_MAX_AGE_MS, 60_000),
  };
  cached = { key, config };
  return config;
}

const httpUrl = (name: string, value: string | undefined): string => {
  const text = (value ?? "").trim().replace(/\/+$/, "");
  if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol)) {
    throw misconfigured(`${name} must be an http(s) URL, not '${text}'.`);
  }
  return text;
};

/** @throws VerityError 503 `verifier_misconfigured` for a missing or malformed URL. */
export function heartbeatConfig(env: VerifyEnv): HeartbeatConfig {
  return {
    coordinatorUrl: httpUrl("COORDINATOR_URL", env.COORDINATOR_URL),
    publicUrl: httpUrl("PUBLIC_URL", env.PUBLIC_URL),
    intervalMs: heartbeatIntervalMs(env),
  };
}

/** `HEARTBEAT_INTERVAL_MS`, or the default when unset or malformed: the alarm must always re-arm. */
export function heartbeatIntervalMs(env: VerifyEnv): number {
  try {
    return positiveInt(
      "HEARTBEAT_INTERVAL_MS",
      env.HEARTBEAT_INTERVAL_MS,
      DEFAULT_HEARTBEAT_INTERVAL_MS,
    );
  } catch {
    return DEFAULT_HEARTBEAT_INTERVAL_MS;
  }
}
