// `npm start` killed with SIGKILL, every process of it at once, while calls are in flight; then
// started again on the same state. In a file of its own, so that it runs beside the others.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createPublicClient, http } from "viem";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { verityLedgerAbi } from "../../contracts/generated/VerityLedger.ts";
import { api, chat, ports, quiet, readyTimeoutMs } from "../../test/node/local-network-client.ts";
import { executeD1 } from "./d1.ts";
import { type LocalNetworkInfo, readLocalJson } from "./local-json.ts";
import { type LocalNetwork, startLocalNetwork } from "./local-network.ts";
import { binDir, pinnedPath, repoRoot } from "./paths.ts";
import { runRecordPath } from "./run-lock.ts";
import { wranglerPersistDir } from "./state-dir.ts";

const FAST = { cronIntervalMs: 1_000, settleIntervalMs: 1_000, blockTimeSeconds: 0.25 };
const CALLS = 24;
const IN_FLIGHT = 6;
/** Calls answered before the kill: the rest are in flight or not yet sent. */
const KILL_AFTER = 6;

const RunRecord = z.object({
  pid: z.number(),
  groups: z.array(z.object({ name: z.string(), pgid: z.number() })),
});
const Settled = z.object({
  status: z.string(),
  settlement: z.object({ status: z.string(), batchId: z.string().nullable() }).nullable(),
});
const Proof = z.object({
  batchId: z.string(),
  proof: z.array(z.string()),
  leaf: z.object({ hash: z.string() }),
});

/** `npm start` as its own process, in its own process group, as a terminal would run it. */
function npmStart(stateDir: string, port: number) {
  const child = spawn(
    path.join(binDir, "node"),
    [
      "scripts/start.ts",
      "--state-dir",
      stateDir,
      "--port",
      String(port),
      "--cron-interval",
      String(FAST.cronIntervalMs / 1000),
      "--settle-interval",
      String(FAST.settleIntervalMs / 1000),
      "--block-time",
      String(FAST.blockTimeSeconds),
    ],
    { cwd: repoRoot, env: { ...process.env, PATH: pinnedPath() }, detached: true, stdio: "ignore" },
  );
  return child;
}

/** SIGKILL to npm start and to every process group it recorded, all at once. */
async function killEverything(stateDir: string) {
  const record = RunRecord.parse(JSON.parse(await readFile(runRecordPath(stateDir), "utf8")));
  for (const pgid of [record.pid, ...record.groups.map((g) => g.pgid)]) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      process.kill(pgid, "SIGKILL");
    }
  }
}

async function until<T>(what: string, withinMs: number, probe: () => Promise<T | undefined>) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`);
    await sleep(250);
  }
}

describe("a network killed with SIGKILL while calls are in flight, then restarted on its state", () => {
  let stateDir = "";
  let restarted: LocalNetwork | undefined;
  afterAll(async () => {
    await restarted?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it("decides every record, settles each exactly once on chain, and turns none inconclusive", async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), "verity-crash-"));
    const port = await ports(3);
    const child = npmStart(stateDir, port);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const info = await until("npm start is up", readyTimeoutMs, () => readLocalJson(stateDir));

    // Calls IN_FLIGHT at a time; the kill comes when KILL_AFTER have their receipts.
    const receipted: string[] = [];
    let sent = 0;
    let inFlight = 0;
    const killed = Promise.withResolvers<void>();
    const caller = async () => {
      while (sent < CALLS) {
        sent++;
        inFlight++;
        const id = await chat(info).catch(() => undefined);
        inFlight--;
        if (id) receipted.push(id);
        if (receipted.length === KILL_AFTER) killed.resolve();
      }
    };
    const callers = Promise.all(Array.from({ length: IN_FLIGHT }, caller));
    await Promise.race([killed.promise, callers]);
    const inFlightAtKill = inFlight;
    await killEverything(stateDir);
    await exited;
    await callers;
    expect(inFlightAtKill).toBeGreaterThan(0);
    expect(receipted.length).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(receipted.length).toBeLessThan(CALLS);

    restarted = await startLocalNetwork({
      stateDir,
      port,
      log: quiet,
      readyTimeoutMs,
      ...FAST,
      // Resend an outcome the kill kept from the queue after 2 s, not a minute.
      gatewayVars: { OUTCOME_RESEND_AFTER_MS: "2000" },
    });
    const again: LocalNetworkInfo = restarted.info;

    // Every record the database holds, receipted or cut off mid-answer, ends settled.
    const d1 = { kind: "local", persistTo: wranglerPersistDir(stateDir) } as const;
    const [records = []] = await executeD1(d1, "select id from inferences");
    const ids = records.map((r) => String(r.id));
    expect(ids).toEqual(expect.arrayContaining(receipted));
    for (const id of ids) {
      const record = await until(`${id} decided and settled`, 90_000, async () => {
        const body = Settled.parse(await (await api(again, `/v1/inferences/${id}`)).json());
        const final =
          body.status === "inconclusive" ||
          (body.status === "settled" && body.settlement?.status === "confirmed");
        return final ? body : undefined;
      });
      expect(record.status).toBe("settled");
    }

    // Exactly once: the chain holds each batch once, and its leaves add up to the records.
    const chain = createPublicClient({ transport: http(again.rpcUrl) });
    const ledger = { address: again.contracts?.ledger ?? "0x", abi: verityLedgerAbi } as const;
    const events = await chain.getContractEvents({
      ...ledger,
      eventName: "BatchSettled",
      fromBlock: 0n,
      strict: true,
    });
    const batchIds = events.map((e) => e.args.batchId);
    expect(new Set(batchIds).size).toBe(batchIds.length);
    expect(events.reduce((sum, e) => sum + Number(e.args.count), 0)).toBe(ids.length);
    for (const id of receipted) {
      const proof = Proof.parse(await (await api(again, `/v1/inferences/${id}/proof`)).json());
      expect(
        await chain.readContract({
          ...ledger,
          functionName: "isIncluded",
          args: [
            BigInt(proof.batchId),
            proof.proof as `0x${string}`[],
            proof.leaf.hash as `0x${string}`,
          ],
        }),
      ).toBe(true);
    }
  }, 240_000);
});
