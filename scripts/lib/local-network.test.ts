import { once } from "node:events";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createPublicClient, getAddress, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { hashApiKey } from "../../src/db/api-keys.ts";
import { newInferenceId } from "../../src/protocol/inference-id.ts";
import { Receipt, signReceipt } from "../../src/protocol/receipt.ts";
import { executeD1, sqlInteger, sqlString } from "./d1.ts";
import { loadOrCreateDevSecrets } from "./dev-secrets.ts";
import { type LocalNetworkInfo, localJsonPath, readLocalJson } from "./local-json.ts";
import { type LocalNetwork, localPortCount, startLocalNetwork } from "./local-network.ts";
import { freePortRun } from "./ports.ts";
import { isGroupAlive } from "./process-group.ts";
import { runRecordPath } from "./run-lock.ts";
import { wranglerPersistDir } from "./state-dir.ts";

const RunRecord = z.object({ groups: z.array(z.object({ name: z.string(), pgid: z.number() })) });
const recordedGroups = async (stateDir: string) =>
  RunRecord.parse(JSON.parse(await readFile(runRecordPath(stateDir), "utf8"))).groups;
const groupOf = async (stateDir: string, name: string) =>
  (await recordedGroups(stateDir)).find((group) => group.name === name)?.pgid ?? 0;

const quiet = () => {};
// Well under the test timeout, so that a start that hangs still stops what it started.
const readyTimeoutMs = 60_000;
// The gateway's port and, after it, one per verifier.
const ports = (verifiers = 3) => freePortRun(localPortCount(verifiers));

const Address = z.string().transform((value) => getAddress(value));
const VerifierList = z.object({
  data: z.array(
    z.object({
      address: Address,
      url: z.string(),
      online: z.boolean(),
      votes: z.number(),
      agreements: z.number(),
    }),
  ),
});
const InferenceRecord = z.object({
  status: z.string(),
  receipt: Receipt,
  verification: z.object({
    status: z.string(),
    committee: z.array(z.object({ address: Address })),
    verdicts: z.array(z.object({ verifier: Address, outcome: z.string() })),
    startedAt: z.number().optional(),
  }),
});

const api = async (info: LocalNetworkInfo, route: string, init: RequestInit = {}) => {
  const res = await fetch(`${info.gatewayUrl}${route}`, {
    ...init,
    headers: {
      authorization: `Bearer ${info.apiKey}`,
      "content-type": "application/json",
      ...init.headers,
    },
  });
  if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
  return res;
};

async function chat(info: LocalNetworkInfo): Promise<string> {
  const res = await api(info, "/v1/chat/completions", {
    method: "POST",
    body: JSON.stringify({
      model: "verity-ngram-1",
      messages: [{ role: "user", content: "Tell me about the sea." }],
      max_tokens: 8,
    }),
  });
  await res.body?.cancel();
  const id = res.headers.get("x-verity-inference-id");
  if (!id) throw new Error("no inference id");
  return id;
}

/** Polls an inference until it is no longer pending. */
async function decided(info: LocalNetworkInfo, id: string, withinMs = 20_000) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const record = InferenceRecord.parse(await (await api(info, `/v1/inferences/${id}`)).json());
    if (record.status !== "pending") return record;
    if (Date.now() > deadline) throw new Error(`${id} still pending after ${withinMs} ms`);
    await sleep(100);
  }
}

describe("startLocalNetwork", () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), "verity-network-"));
  });
  afterAll(() => rm(stateDir, { recursive: true, force: true }));

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
    } finally {
      await network.stop();
      for (const { pgid } of groups) expect(isGroupAlive(pgid)).toBe(false);
    }
    expect(await readLocalJson(stateDir)).toBeUndefined();
  });

  it("keeps its keys and its data across restarts", async () => {
    const first = await startLocalNetwork({
      stateDir,
      port: await ports(1),
      verifiers: 1,
      log: quiet,
      readyTimeoutMs,
    });
    const { apiKey, inferenceNode, verifiers } = first.info;
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
      port: await ports(1),
      verifiers: 1,
      log: quiet,
      readyTimeoutMs,
    });
    try {
      expect(second.info).toMatchObject({ apiKey, inferenceNode });
      expect(second.info.verifiers.map((v) => v.address)).toEqual(verifiers.map((v) => v.address));
      const stored = await fetch(`${second.info.gatewayUrl}/v1/inferences/${inferenceId}`, {
        headers: { authorization: `Bearer ${apiKey}` },
      });
      expect(stored.status).toBe(200);
      // Verifiers of the earlier run that this one does not run are no longer picked.
      const listed = VerifierList.parse(await (await api(second.info, "/v1/verifiers")).json());
      expect(listed.data.filter((v) => v.online).map((v) => v.address)).toEqual(
        verifiers.map((v) => v.address),
      );
    } finally {
      await second.stop();
    }
  });

  it("reports a verifier that dies while the network is up", async () => {
    const network = await startLocalNetwork({
      stateDir,
      port: await ports(1),
      verifiers: 1,
      log: quiet,
      readyTimeoutMs,
    });
    try {
      process.kill(-(await groupOf(stateDir, "verifier-1")), "SIGKILL");
      const failure = await network.failure;
      expect(failure.service).toBe("verifier-1");
      expect(failure.exit.signal).toBe("SIGKILL");
    } finally {
      await network.stop();
    }
  });

  it("refuses a second network on the same state directory", async () => {
    const network: LocalNetwork = await startLocalNetwork({
      stateDir,
      port: await ports(1),
      verifiers: 1,
      log: quiet,
    });
    const second = startLocalNetwork({
      stateDir,
      port: await ports(1),
      verifiers: 1,
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

describe("a network whose last verifier signs every verdict invalid, with a 1 s cron", () => {
  let stateDir: string;
  let network: LocalNetwork;
  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), "verity-network-"));
    network = await startLocalNetwork({
      stateDir,
      port: await ports(3),
      faulty: "always-invalid",
      cronIntervalMs: 1_000,
      log: quiet,
      readyTimeoutMs,
    });
  });
  afterAll(async () => {
    await network?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it("runs the faulty verifier last, and rounds still verify by the quorum of the others", async () => {
    const { info } = network;
    const faulty = info.verifiers.at(-1);
    expect(info.verifiers.map((v) => v.faultMode)).toEqual([null, null, "always-invalid"]);
    expect(await (await fetch(`${faulty?.url}/v1/health`)).json()).toMatchObject({
      faultMode: "always-invalid",
    });

    const record = await decided(info, await chat(info));
    expect(record.status).toBe("verified");
    // The committee is all three: two valid verdicts and the faulty one's dissent.
    const outcomes = Object.fromEntries(
      record.verification.verdicts.map((v) => [v.verifier, v.outcome]),
    );
    for (const v of info.verifiers) {
      if (outcomes[v.address] !== undefined)
        expect(outcomes[v.address]).toBe(v.faultMode ? "invalid" : "valid");
    }
    expect(Object.values(outcomes).filter((o) => o === "valid").length).toBeGreaterThanOrEqual(2);

    // A late dissent is recorded too: wait for all three, then the faulty one agrees less.
    const deadline = Date.now() + 10_000;
    let listed = VerifierList.parse(await (await api(info, "/v1/verifiers")).json());
    while (listed.data.find((v) => v.address === faulty?.address)?.votes === 0) {
      if (Date.now() > deadline) throw new Error("the faulty verifier never voted");
      await sleep(200);
      listed = VerifierList.parse(await (await api(info, "/v1/verifiers")).json());
    }
    const stats = listed.data.find((v) => v.address === faulty?.address);
    expect(stats?.agreements).toBeLessThan(stats?.votes ?? 0);
  });

  it("runs the gateway's cron, which starts the round of a record that a crash left without one", async () => {
    const { info } = network;
    const original = InferenceRecord.parse(
      await (await api(info, `/v1/inferences/${await chat(info)}`)).json(),
    );
    // A stored record as a gateway that crashed before starting its round leaves it: pending,
    // a minute old, its receipt genuinely signed by the node, and no round.
    const { secrets } = await loadOrCreateDevSecrets(stateDir);
    const id = newInferenceId();
    const createdAt = Date.now() - 60_000;
    const { signature: _, ...unsigned } = original.receipt;
    const receipt = await signReceipt(
      { ...unsigned, inferenceId: id, createdAt },
      privateKeyToAccount(secrets.inferenceNodeKey),
    );
    const inserted = Date.now();
    await executeD1(
      { kind: "local", persistTo: wranglerPersistDir(stateDir) },
      `INSERT INTO inferences (id, api_key_id, kind, model, backend, request, response, usage, receipt,
         request_hash, response_hash, stream, user, status, created_at, updated_at)
       SELECT ${sqlString(id)}, api_key_id, kind, model, backend, request, response, usage,
         ${sqlString(JSON.stringify(receipt))}, request_hash, response_hash, stream, user, 'pending',
         ${sqlInteger(createdAt)}, ${sqlInteger(createdAt)}
       FROM inferences WHERE id = ${sqlString(original.receipt.inferenceId)}`,
    );
    const before = InferenceRecord.parse(await (await api(info, `/v1/inferences/${id}`)).json());
    expect(before.verification.status).toBe("pending");

    const record = await decided(info, id, 15_000);
    expect(record.status).toBe("verified");
    expect(record.verification.committee).toHaveLength(3);
    expect(record.verification.startedAt).toBeGreaterThanOrEqual(inserted);
  });
});
