import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { getAddress } from "viem";
import { z } from "zod";
import type { FaultMode } from "../../src/workers/verify/fault-mode.ts";
import { writePrivateFile } from "./state-dir.ts";

/** The ways a local verifier can misbehave on purpose: its FAULT_MODE values but honest "". */
export const FaultyMode = z.enum([
  "always-invalid",
  "silent",
  "wrong-key",
] as const satisfies readonly Exclude<FaultMode, "">[]);
export type FaultyMode = z.infer<typeof FaultyMode>;

/** A local verifier node as local.json lists it. */
export const LocalVerifier = z.object({
  /** Its VERIFIER_KEY's address: verdicts and heartbeats are signed by it. */
  address: z.string().transform((value) => getAddress(value)),
  /** Its base URL; the coordinator sends tasks to `${url}/v1/tasks`. */
  url: z.url(),
  /** How it misbehaves on purpose (`npm start -- --faulty MODE`), or null for an honest node. */
  faultMode: FaultyMode.nullable(),
});
export type LocalVerifier = z.infer<typeof LocalVerifier>;

/**
 * `<state>/local.json`: what a running local network tells other tools (tests, the bench,
 * demos). It exists while `npm start` runs and is removed when it stops. Every service adds its
 * fields here, and `writeLocalJson` is the one place that writes the file.
 */
export const LocalNetworkInfo = z.object({
  /** The gateway's base URL; the OpenAI-compatible API is under `/v1`. */
  gatewayUrl: z.url(),
  /** The dev API key (secret: the file is mode 0600). */
  apiKey: z.string(),
  apiKeyId: z.string(),
  /** The inference node's address: receipts are signed by it. */
  inferenceNode: z.string().transform((value) => getAddress(value)),
  /** The coordinator's address: verifiers accept only tasks it signed. */
  coordinator: z.string().transform((value) => getAddress(value)),
  /** The verifier nodes, registered with the coordinator and online when the file is written. */
  verifiers: z.array(LocalVerifier),
  /** The local chain (anvil) the contracts live on; absent when the network runs no verifiers. */
  rpcUrl: z.url().optional(),
  chainId: z.number().int().positive().optional(),
  /** Verity's contracts on that chain: the VerifierRegistry and the VerityLedger batches settle to. */
  contracts: z
    .object({
      registry: z.string().transform((value) => getAddress(value)),
      ledger: z.string().transform((value) => getAddress(value)),
    })
    .optional(),
  /** The address the settler sends `settleBatch` from (its SETTLER_KEY's). */
  settler: z
    .string()
    .transform((value) => getAddress(value))
    .optional(),
  stateDir: z.string(),
  /** The `npm start` process; the network is up while it lives. */
  pid: z.number().int(),
  startedAt: z.iso.datetime(),
});
export type LocalNetworkInfo = z.infer<typeof LocalNetworkInfo>;

export const localJsonPath = (stateDir: string) => path.join(stateDir, "local.json");

/** Writes `info` as `<state>/local.json` (atomically, mode 0600). */
export async function writeLocalJson(info: LocalNetworkInfo): Promise<string> {
  const file = localJsonPath(info.stateDir);
  await writePrivateFile(file, `${JSON.stringify(LocalNetworkInfo.parse(info), null, 2)}\n`);
  return file;
}

/** The local.json of `stateDir`, or undefined if there is none (the network is not up). */
export async function readLocalJson(stateDir: string): Promise<LocalNetworkInfo | undefined> {
  let text: string;
  try {
    text = await readFile(localJsonPath(stateDir), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return LocalNetworkInfo.parse(JSON.parse(text));
}

export async function removeLocalJson(stateDir: string): Promise<void> {
  await rm(localJsonPath(stateDir), { force: true });
}
