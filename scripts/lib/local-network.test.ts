import { once } from "node:events";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createPublicClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { hashApiKey } from "../../src/db/api-keys.ts";
import {
  api,
  ports,
  quiet,
  readyTimeoutMs,
  VerifierList,
} from "../../test/node/local-network-client.ts";
import { executeD1 } from "./d1.ts";
import { loadOrCreateDevSecrets } from "./dev-secrets.ts";
import { localJsonPath, readLocalJson } from "./local-json.ts";
import { type LocalNetwork, startLocalNetwork } from "./local-network.ts";
import { isGroupAlive } from "./process-group.ts";
import { runRecordPath } from "./run-lock.ts";
import { wranglerPersistDir } from "./state-dir.ts";

const RunRecord = z.object({ groups: z.array(z.object({ name: z.string(), pgid: z.number() })) });
const recordedGroups = async (stateDir: string) =>
  RunRecord.parse(JSON.parse(await readFile(runRecordPath(stateDir), "utf8"))).groups;
const groupOf = async (stateDir: string, name: string) =>
  (await recordedGroups(stateDir)).find((group) => group.name === name)?.pgid ?? 0;

/** What a stopped run left in the state directory for the next run to find. */
interface EarlierRun {
  apiKey: string;
  inferenceNode: string;
  verifiers: { address: string }[];
  inferenceId: string | null;
}

/** A network of one verifier on `stateDir`, on free ports. */
const oneVerifierNetwork = async (stateDir: string) =>
  startLocalNetwork({ stateDir, port: await ports(1), verifiers: 1, log: quiet, readyTimeoutMs });

const chat = (info: LocalNetwork["info"]) =>
  fetch(`${info.gatewayUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${info.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: "verity-ngram-1",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 4,
    }),
  });

// Network starts are most of this file's time, so runs are handed on where a test allows: the
// first test's run is the earlier run the restart test restarts, and that restart is the
// running network the one-verifier tests use. Each test starts its own when run alone.
describe("startLocalNetwork", () => {
  let stateDir: string;
  let earlierRun: EarlierRun | undefined;
  let restarted: LocalNetwork | undefined;
  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), "verity-network-"));
  });
  afterAll(async () => {
    await restarted?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it("brings the chain, the gateway, three online verifiers and the cron up, writes local.json, and stops leaving no process behind", async () => {
    const port = await ports(3);
    const network = await startLocalNetwork({ stateDir, port, log: quiet, readyTimeoutMs });
    const groups = await recordedGroups(stateDir);
    try {
      const { info } = network;
      expect(await readLocalJson(stateDir)).toEqual(info);
      expect((await stat(localJsonPath(stateDir))).mode & 0o777).toBe(0o600);
      const health = await fetch(`${info.gatewayUrl}/health`);
      expect(await health.json()).toEqual({ status: "ok", node: info.inferenceNode });
      const d1 = { kind: "local", persistTo: wranglerPersistDir(stateDir) } as const;
      // The dev key is stored as its hash, and the gateway takes it.
      const [rows] = await executeD1(
        d1,
        `SELECT key_hash FROM api_keys WHERE id = '${info.apiKeyId}'`,
      );
      expect(rows).toEqual([{ key_hash: await hashApiKey(info.apiKey) }]);
      const models = await fetch(`${info.gatewayUrl}/v1/models`, {
        headers: { authorization: `Bearer ${info.apiKey}` },
      });
      expect(models.status).toBe(200);

      // The chain on the port after the verifiers', with the contracts deployed on it, and the
      // settler's key only in the file beside its generated config.
      expect(info.rpcUrl).toBe(`http://127.0.0.1:${port + 4}`);
      expect(info.chainId).toBe(31337);
      const chain = createPublicClient({ transport: http(info.rpcUrl) });
      for (const address of Object.values(info.contracts ?? {})) {
        expect(await chain.getCode({ address })).toMatch(/^0x[0-9a-f]{10,}$/);
      }
      const settlerSecrets = path.join(stateDir, "settler", ".dev.vars");
      expect((await stat(settlerSecrets)).mode & 0o777).toBe(0o600);

      // Three verifiers on the ports after the gateway's, with the state directory's keys,
      // registered with the gateway and heartbeating to it.
      const { secrets } = await loadOrCreateDevSecrets(stateDir);
      expect(info.verifiers).toEqual(
        secrets.verifierKeys.map((key, i) => ({
          address: privateKeyToAccount(key).address,
          url: `http://127.0.0.1:${port + i + 1}`,
          faultMode: null,
        })),
      );
      const [registered] = await executeD1(d1, "SELECT address, url, status FROM verifiers");
      const listed = VerifierList.parse(await (await api(info, "/v1/verifiers")).json());
      for (const { address, url } of info.verifiers) {
        expect(registered).toContainEqual({ address, url, status: "active" });
        expect(listed.data).toContainEqual(expect.objectContaining({ address, url, online: true }));
      }
      for (const [i, verifier] of info.verifiers.entries()) {
        const health = await fetch(`${verifier.url}/v1/health`);
        expect(await health.json()).toMatchObject({
          address: verifier.address,
          coordinator: info.coordinator,
          faultMode: null,
        });
        // Each verifier is given its own key only, in a file only the owner can read.
        const envFile = path.join(stateDir, `verifier-${i + 1}.env`);
        expect(await readFile(envFile, "utf8")).toBe(`VERIFIER_KEY=${secrets.verifierKeys[i]}\n`);
        expect((await stat(envFile)).mode & 0o777).toBe(0o600);
      }
      // No secret is on any command line, where every user of the machine could read it.
      const keys = [
        secrets.inferenceNodeKey,
        secrets.coordinatorKey,
        secrets.settlerKey,
        ...secrets.verifierKeys,
      ];
      for (const { pgid } of groups) {
        const commandLine = await readFile(`/proc/${pgid}/cmdline`, "utf8");
        for (const key of keys) expect(commandLine).not.toContain(key.slice(2));
      }
      expect(groups.map((g) => g.name).sort()).toEqual([
        "anvil",
        "cron",
        "gateway",
        "verifier-1",
        "verifier-2",
        "verifier-3",
      ]);

      const answer = await chat(info);
      expect(answer.status).toBe(200);
      earlierRun = { ...info, inferenceId: answer.headers.get("x-verity-inference-id") };
    } finally {
      await network.stop();
      for (const { pgid } of groups) expect(isGroupAlive(pgid)).toBe(false);
    }
    expect(await readLocalJson(stateDir)).toBeUndefined();
  });

  it("keeps its keys and its data across restarts", async () => {
    if (!earlierRun) {
      const first = await oneVerifierNetwork(stateDir);
      try {
        const answer = await chat(first.info);
        expect(answer.status).toBe(200);
        earlierRun = { ...first.info, inferenceId: answer.headers.get("x-verity-inference-id") };
      } finally {
        await first.stop();
      }
    }
    const { apiKey, inferenceNode, verifiers, inferenceId } = earlierRun;

    restarted = await oneVerifierNetwork(stateDir);
    expect(restarted.info).toMatchObject({ apiKey, inferenceNode });
    expect(restarted.info.verifiers.map((v) => v.address)).toEqual([verifiers[0]?.address]);
    const stored = await fetch(`${restarted.info.gatewayUrl}/v1/inferences/${inferenceId}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(stored.status).toBe(200);
    // Verifiers of the earlier run that this one does not run are no longer picked.
    const listed = VerifierList.parse(await (await api(restarted.info, "/v1/verifiers")).json());
    expect(listed.data.filter((v) => v.online).map((v) => v.address)).toEqual([
      verifiers[0]?.address,
    ]);
  });

  // One running network serves both: the refused second start must leave it untouched, and
  // only then is one of its verifiers killed.
  describe("with a one-verifier network running", () => {
    let network: LocalNetwork;
    beforeAll(async () => {
      restarted ??= await oneVerifierNetwork(stateDir);
      network = restarted;
    });
    afterAll(async () => {
      await network?.stop();
      restarted = undefined;
    });

    it("refuses a second network on the same state directory", async () => {
      const second = oneVerifierNetwork(stateDir);
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
      }
    });

    it("reports a verifier that dies while the network is up", async () => {
      process.kill(-(await groupOf(stateDir, "verifier-1")), "SIGKILL");
      const failure = await network.failure;
      expect(failure.service).toBe("verifier-1");
      expect(failure.exit.signal).toBe("SIGKILL");
    });
  });

  it.each([
    { taken: "the gateway's", offset: 0 },
    { taken: "a verifier's", offset: 2 },
  ])(
    "says which port is taken ($taken), and leaves the state directory free",
    async ({ offset }) => {
      const port = await ports(3);
      const squatter = createServer().listen(port + offset, "127.0.0.1");
      await once(squatter, "listening");
      try {
        await expect(
          startLocalNetwork({ stateDir, port, log: quiet, readyTimeoutMs }),
        ).rejects.toThrow(`Port ${port + offset}`);
        await expect(stat(runRecordPath(stateDir))).rejects.toMatchObject({ code: "ENOENT" });
      } finally {
        squatter.close();
      }
    },
  );
});
