import { readFile } from "node:fs/promises";
import path from "node:path";
import { type Address, type Hex, isHex } from "viem";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import { z } from "zod";
import { generateApiKey, newApiKeyId } from "../../src/db/api-keys.ts";
import { conflict } from "./script-error.ts";
import { writePrivateFile } from "./state-dir.ts";

/** The development identities of a local network, made on its first start and kept after. */
export interface DevSecrets {
  /** The gateway's `INFERENCE_NODE_KEY`: signs receipts. */
  inferenceNodeKey: Hex;
  /** The gateway's `COORDINATOR_KEY`: signs the verification tasks sent to verifiers. */
  coordinatorKey: Hex;
  /** A ready-to-use API key, stored in D1 only as its hash. */
  apiKey: string;
  apiKeyId: string;
  /** One `VERIFIER_KEY` per local verifier node, in order: verifier n signs with key n-1. */
  verifierKeys: Hex[];
  /** The settler's `SETTLER_KEY`: sends `settleBatch` and pays its gas on the local chain. */
  settlerKey: Hex;
}

export interface DevSecretsOptions {
  /** How many verifier keys there must be at least; missing ones are made (default 0). */
  verifiers?: number;
}

const PrivateKey = z
  .string()
  .refine((v): v is Hex => isHex(v, { strict: true }) && v.length === 66, "not a 32-byte hex key");

// Every secret is optional in the file: one that a newer version of the network needs is made
// and added on the next start, and the ones already there are kept.
const DevSecretsFile = z.object({
  inferenceNodeKey: PrivateKey.optional(),
  coordinatorKey: PrivateKey.optional(),
  apiKey: z
    .string()
    .regex(/^vty_[0-9A-Za-z]{32}$/, "not an API key")
    .optional(),
  apiKeyId: z
    .string()
    .regex(/^key_[0-9a-f]{20}$/, "not a key id")
    .optional(),
  verifierKeys: z.array(PrivateKey).optional(),
  settlerKey: PrivateKey.optional(),
});

export const devSecretsPath = (stateDir: string) => path.join(stateDir, "dev-secrets.json");

/** The address that `secrets.inferenceNodeKey` signs receipts as. */
export const inferenceNodeAddress = (secrets: DevSecrets): Address =>
  privateKeyToAddress(secrets.inferenceNodeKey);

/** The address that `secrets.coordinatorKey` signs verification tasks as. */
export const coordinatorAddress = (secrets: DevSecrets): Address =>
  privateKeyToAddress(secrets.coordinatorKey);

/** The address that `secrets.settlerKey` sends settlement transactions from. */
export const settlerAddress = (secrets: DevSecrets): Address =>
  privateKeyToAddress(secrets.settlerKey);

/** The address verifier node `index` (0-based) signs verdicts and heartbeats as. */
export const verifierAddress = (secrets: DevSecrets, index: number): Address => {
  const key = secrets.verifierKeys[index];
  if (key === undefined) throw new RangeError(`no dev key for verifier ${index + 1}`);
  return privateKeyToAddress(key);
};

/**
 * Reads the state directory's dev secrets, making and saving (mode 0600) any that are missing:
 * all of them on a first start, and verifier keys up to `options.verifiers`. Keys beyond that
 * are kept, so that fewer verifiers for a run do not forget the others. A file that exists but does not parse is an error, not a reason
 * to make new keys: that would silently orphan everything signed or stored with the old ones.
 * `created` names the secrets made by this call.
 */
export async function loadOrCreateDevSecrets(
  stateDir: string,
  options: DevSecretsOptions = {},
): Promise<{ secrets: DevSecrets; created: (keyof DevSecrets)[] }> {
  const file = devSecretsPath(stateDir);
  let stored: z.infer<typeof DevSecretsFile> = {};
  let text: string | undefined;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (text !== undefined) {
    const parsed = DevSecretsFile.safeParse(parseJson(text));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw conflict(
        `${file} is damaged (${issue ? `${issue.path.join(".") || "file"}: ${issue.message}` : "not JSON"}). Fix it, or delete the state directory to start afresh.`,
        "dev_secrets_invalid",
      );
    }
    stored = parsed.data;
  }
  const secrets: DevSecrets = {
    inferenceNodeKey: stored.inferenceNodeKey ?? generatePrivateKey(),
    coordinatorKey: stored.coordinatorKey ?? generatePrivateKey(),
    apiKey: stored.apiKey ?? generateApiKey(),
    apiKeyId: stored.apiKeyId ?? newApiKeyId(),
    verifierKeys: [...(stored.verifierKeys ?? [])],
    settlerKey: stored.settlerKey ?? generatePrivateKey(),
  };
  while (secrets.verifierKeys.length < (options.verifiers ?? 0)) {
    secrets.verifierKeys.push(generatePrivateKey());
  }
  const created = (Object.keys(secrets) as (keyof DevSecrets)[]).filter((name) =>
    name === "verifierKeys"
      ? secrets.verifierKeys.length > (stored.verifierKeys?.length ?? 0)
      : stored[name] === undefined,
  );
  if (created.length > 0) await writePrivateFile(file, `${JSON.stringify(secrets, null, 2)}\n`);
  return { secrets, created };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
