import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { privateKeyToAddress } from "viem/accounts";
import { afterEach, beforeEach, expect, it } from "vitest";
import { VerityError } from "../../src/errors.ts";
import {
  coordinatorAddress,
  devSecretsPath,
  inferenceNodeAddress,
  loadOrCreateDevSecrets,
  verifierAddress,
} from "./dev-secrets.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "verity-secrets-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

it("makes node, coordinator and API keys on first use, in a file only the owner can read", async () => {
  const { secrets, created } = await loadOrCreateDevSecrets(dir);
  expect(created.sort()).toEqual([
    "apiKey",
    "apiKeyId",
    "coordinatorKey",
    "inferenceNodeKey",
    "settlerKey",
  ]);
  expect(secrets.inferenceNodeKey).toMatch(/^0x[0-9a-f]{64}$/);
  expect(secrets.coordinatorKey).toMatch(/^0x[0-9a-f]{64}$/);
  expect(secrets.coordinatorKey).not.toBe(secrets.inferenceNodeKey);
  expect(secrets.apiKey).toMatch(/^vty_[0-9A-Za-z]{32}$/);
  expect(secrets.apiKeyId).toMatch(/^key_[0-9a-f]{20}$/);
  expect((await stat(devSecretsPath(dir))).mode & 0o777).toBe(0o600);
  expect(inferenceNodeAddress(secrets)).toBe(privateKeyToAddress(secrets.inferenceNodeKey));
  expect(coordinatorAddress(secrets)).toBe(privateKeyToAddress(secrets.coordinatorKey));
});

it("gives back the same secrets on later starts", async () => {
  const first = await loadOrCreateDevSecrets(dir);
  const second = await loadOrCreateDevSecrets(dir);
  expect(second).toEqual({ secrets: first.secrets, created: [] });
});

it("adds a secret that an older state directory lacks, keeping the others", async () => {
  const { secrets } = await loadOrCreateDevSecrets(dir);
  const { coordinatorKey: _dropped, ...older } = secrets;
  await writeFile(devSecretsPath(dir), JSON.stringify(older));
  const upgraded = await loadOrCreateDevSecrets(dir);
  expect(upgraded.created).toEqual(["coordinatorKey"]);
  expect(upgraded.secrets).toMatchObject(older);
  expect(await loadOrCreateDevSecrets(dir)).toEqual({ secrets: upgraded.secrets, created: [] });
});

it("refuses a damaged file instead of silently replacing the keys", async () => {
  await writeFile(devSecretsPath(dir), '{"inferenceNodeKey":"0x12"}');
  await expect(loadOrCreateDevSecrets(dir)).rejects.toBeInstanceOf(VerityError);
  expect(await readFile(devSecretsPath(dir), "utf8")).toBe('{"inferenceNodeKey":"0x12"}');
});

it("makes verifier keys up to the count asked for, and keeps them all for later starts", async () => {
  const none = await loadOrCreateDevSecrets(dir);
  expect(none.secrets.verifierKeys).toEqual([]);

  const three = await loadOrCreateDevSecrets(dir, { verifiers: 3 });
  expect(three.created).toEqual(["verifierKeys"]);
  expect(three.secrets.verifierKeys).toHaveLength(3);
  expect(new Set(three.secrets.verifierKeys).size).toBe(3);
  for (const key of three.secrets.verifierKeys) expect(key).toMatch(/^0x[0-9a-f]{64}$/);
  expect(verifierAddress(three.secrets, 2)).toBe(
    privateKeyToAddress(three.secrets.verifierKeys[2] ?? "0x"),
  );
  expect(() => verifierAddress(three.secrets, 3)).toThrow(RangeError);
  // The other secrets are those of the first call.
  expect(three.secrets).toMatchObject({ ...none.secrets, verifierKeys: expect.any(Array) });

  // Fewer verifiers for a run forget no key; more add to the end.
  expect(await loadOrCreateDevSecrets(dir, { verifiers: 1 })).toEqual({
    secrets: three.secrets,
    created: [],
  });
  const five = await loadOrCreateDevSecrets(dir, { verifiers: 5 });
  expect(five.secrets.verifierKeys.slice(0, 3)).toEqual(three.secrets.verifierKeys);
  expect(five.secrets.verifierKeys).toHaveLength(5);
  expect((await loadOrCreateDevSecrets(dir)).secrets).toEqual(five.secrets);
});
