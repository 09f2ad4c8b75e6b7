import { once } from "node:events";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { hashApiKey } from "../../src/db/api-keys.ts";
import { executeD1 } from "./d1.ts";
import { localJsonPath, readLocalJson } from "./local-json.ts";
import { type LocalNetwork, startLocalNetwork } from "./local-network.ts";
import { freePort } from "./ports.ts";
import { isGroupAlive } from "./process-group.ts";
import { runRecordPath } from "./run-lock.ts";
import { wranglerPersistDir } from "./state-dir.ts";

const RunRecord = z.object({ groups: z.array(z.object({ name: z.string(), pgid: z.number() })) });
const gatewayGroup = async (stateDir: string) =>
  RunRecord.parse(JSON.parse(await readFile(runRecordPath(stateDir), "utf8"))).groups.find(
    (group) => group.name === "gateway",
  )?.pgid ?? 0;

const quiet = () => {};
// Well under the test timeout, so that a start that hangs still stops what it started.
const readyTimeoutMs = 60_000;

describe("startLocalNetwork", () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), "verity-network-"));
  });
  afterAll(() => rm(stateDir, { recursive: true, force: true }));

  it("brings the gateway up, writes local.json, and stops leaving no process behind", async () => {
    const network = await startLocalNetwork({
      stateDir,
      port: await freePort(),
      log: quiet,
      readyTimeoutMs,
    });
    try {
      const { info } = network;
      expect(await readLocalJson(stateDir)).toEqual(info);
      expect((await stat(localJsonPath(stateDir))).mode & 0o777).toBe(0o600);
      const health = await fetch(`${info.gatewayUrl}/health`);
      expect(await health.json()).toEqual({ status: "ok", node: info.inferenceNode });
      // The dev key is stored as its hash, and the gateway takes it.
      const [rows] = await executeD1(
        { kind: "local", persistTo: wranglerPersistDir(stateDir) },
        `SELECT key_hash FROM api_keys WHERE id = '${info.apiKeyId}'`,
      );
      expect(rows).toEqual([{ key_hash: await hashApiKey(info.apiKey) }]);
      const models = await fetch(`${info.gatewayUrl}/v1/models`, {
        headers: { authorization: `Bearer ${info.apiKey}` },
      });
      expect(models.status).toBe(200);
    } finally {
      const pgid = await gatewayGroup(stateDir);
      await network.stop();
      expect(isGroupAlive(pgid)).toBe(false);
    }
    expect(await readLocalJson(stateDir)).toBeUndefined();
  });

  it("keeps its keys and its data across restarts", async () => {
    const first = await startLocalNetwork({
      stateDir,
      port: await freePort(),
      log: quiet,
      readyTimeoutMs,
    });
    const { apiKey, inferenceNode } = first.info;
    let inferenceId: string | null;
    try {
      const answer = await fetch(`${first.info.gatewayUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: "verity-ngram-1",
          messages: [{ role: "user", content: "hi" }],
          max_tokens: 4,
        }),
      });
      expect(answer.status).toBe(200);
      inferenceId = answer.headers.get("x-verity-inference-id");
    } finally {
      await first.stop();
    }

    const second = await startLocalNetwork({
      stateDir,
      port: await freePort(),
      log: quiet,
      readyTimeoutMs,
    });
    try {
      expect(second.info).toMatchObject({ apiKey, inferenceNode });
      const stored = await fetch(`${second.info.gatewayUrl}/v1/inferences/${inferenceId}`, {
        headers: { authorization: `Bearer ${apiKey}` },
      });
      expect(stored.status).toBe(200);
    } finally {
      await second.stop();
    }
  });

  it("reports a service that dies while the network is up", async () => {
    const network = await startLocalNetwork({
      stateDir,
      port: await freePort(),
      log: quiet,
      readyTimeoutMs,
    });
    try {
      process.kill(-(await gatewayGroup(stateDir)), "SIGKILL");
      const failure = await network.failure;
      expect(failure.service).toBe("gateway");
      expect(failure.exit.signal).toBe("SIGKILL");
    } finally {
      await network.stop();
    }
  });

  it("refuses a second network on the same state directory", async () => {
    const network: LocalNetwork = await startLocalNetwork({
      stateDir,
      port: await freePort(),
      log: quiet,
    });
    const second = startLocalNetwork({
      stateDir,
      port: await freePort(),
      log: quiet,
      readyTimeoutMs,
    });
    try {
      await expect(second).rejects.toMatchObject({ status: 409, code: "state_dir_in_use" });
      // The refused start must not have disturbed the running one.
      expect((await fetch(`${network.info.gatewayUrl}/health`)).status).toBe(200);
    } finally {
      // Should the second start wrongly succeed, it must not outlive the test.
      await second.then(
        (wrongly) => wrongly.stop(),
        () => {},
      );
      await network.stop();
    }
  });

  it("says which port is taken, and leaves the state directory free", async () => {
    const squatter = createServer().listen(0, "127.0.0.1");
    await once(squatter, "listening");
    const { port } = squatter.address() as { port: number };
    try {
      await expect(
        startLocalNetwork({ stateDir, port, log: quiet, readyTimeoutMs }),
      ).rejects.toThrow(`Port ${port}`);
      await expect(stat(runRecordPath(stateDir))).rejects.toMatchObject({ code: "ENOENT" });
    } finally {
      squatter.close();
    }
  });
});
