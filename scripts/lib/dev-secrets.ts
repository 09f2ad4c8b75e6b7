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
  /** A ready-to-use API key, stored in D1 only as its hash. */
  apiKey: string;
  apiKeyId: string;
}

const DevSecretsFile = z.object({
  inferenceNodeKey: z
    .string()
    .refine((v): v is Hex => isHex(v) && v.length === 66, "not a 32-byte hex key"),
  apiKey: z.string().regex(/^vty_[0-9A-Za-z]{32}$/),
  apiKeyId: z.string().regex(/^key_[0-9a-f]{20}$/),
});

export const devSecretsPath = (stateDir: string) => path.join(stateDir, "dev-secrets.json");

/** The address that `secrets.inferenceNodeKey` signs as. */
export const inferenceNodeAddress = (secrets: DevSecrets): Address =>
  privateKeyToAddress(secrets.inferenceNodeKey);

/**
 * Reads the state directory's dev secrets, or makes and saves new ones (mode 0600) if there are
 * none. A file that exists but does not parse is an error, not a reason to make new keys: that
 * would silently orphan everything signed or stored with the old ones.
 */
export async function loadOrCreateDevSecrets(
  stateDir: string,
): Promise<{ secrets: DevSecrets; created: boolean }> {
  const file = devSecretsPath(stateDir);
  let text: string | undefined;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (text !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = DevSecretsFile.safeParse(json);
    if (!parsed.success) {
      throw conflict(
        `${file} is damaged (${parsed.error.issues[0]?.message ?? "not JSON"}). Fix it, or delete the state directory to start afresh.`,
        "dev_secrets_invalid",
      );
    }
    return { secrets: parsed.data, created: false };
  }
  const secrets: DevSecrets = {
    inferenceNodeKey: generatePrivateKey(),
    apiKey: generateApiKey(),
    apiKeyId: newApiKeyId(),
  };
  await writePrivateFile(file, `${JSON.stringify(secrets, null, 2)}\n`);
  return { secrets, created: true };
}
