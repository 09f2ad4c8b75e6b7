import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import {
  type LocalNetworkInfo,
  localJsonPath,
  readLocalJson,
  removeLocalJson,
  writeLocalJson,
} from "./local-json.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "verity-localjson-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const info = (): LocalNetworkInfo => ({
  gatewayUrl: "http://127.0.0.1:8787",
  apiKey: "vty_0123456789ABCDEFGHIJabcdefghij0123",
  apiKeyId: "key_0123456789abcdef0123",
  inferenceNode: "0x2A4425875ed1f80E0a698b6c703C5fF19B69fEe3",
  coordinator: "0xf6d9aE22588B91E8873D26029E926Ce5462E3156",
  verifiers: [
    {
      address: "0x8f7D6A3E9B8A0c2c5f4E1D3b2A9C8e7f6d5c4B3a",
      url: "http://127.0.0.1:8788",
      faultMode: null,
    },
    {
      address: "0x1C2d3e4f5A6b7c8d9e0F1A2B3c4d5e6F7A8b9c0D",
      url: "http://127.0.0.1:8789",
      faultMode: "always-invalid",
    },
  ],
  stateDir: dir,
  pid: 4242,
  startedAt: "2026-11-25T15:09:39.761Z",
});

it("writes local.json for the owner only and reads it back", async () => {
  await writeLocalJson(info());
  expect((await stat(localJsonPath(dir))).mode & 0o777).toBe(0o600);
  expect(await readLocalJson(dir)).toEqual(info());
  // Written through a temporary file and a rename: no half-written file is ever visible.
  expect(await readdir(dir)).toEqual(["local.json"]);
});

it("reads nothing once the network has removed it", async () => {
  await writeLocalJson(info());
  await removeLocalJson(dir);
  expect(await readLocalJson(dir)).toBeUndefined();
});

it("refuses to write a file that readers would reject", async () => {
  await expect(writeLocalJson({ ...info(), gatewayUrl: "not a url" })).rejects.toThrow();
  expect(await readLocalJson(dir)).toBeUndefined();
});
