// `npx verity` against a real `npm start`: an answer is followed live, verified, exported, and
// checked again from the file with only the chain; then every field of the file is tampered
// with, and exactly the check that guards it fails.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { chainView } from "@verity/protocol/chain-view";
import {
  RECORD_CHECKS,
  type RecordVerification,
  verifyRecord,
} from "@verity/protocol/verify-record";
import { verityOf, withVerity } from "@verity/protocol/verity-client";
import type { VerityRecord } from "@verity/protocol/verity-record";
import OpenAI from "openai";
import { createPublicClient, getAddress, http } from "viem";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { binDir, pinnedPath, repoRoot } from "../../scripts/lib/paths.ts";
import { RECORD_TAMPERS } from "../fixtures/record-tampers.ts";

const network = inject("localNetwork");
const client = new OpenAI({ baseURL: `${network.gatewayUrl}/v1`, apiKey: network.apiKey });

/** From the call to a confirmed batch: a decision, a settler tick, and two blocks. */
const SETTLED_WITHIN_MS = 60_000;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npx verity …` as a user runs it: the package's bin, under the project's Node. */
async function verity(...args: string[]): Promise<CliRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(path.join(binDir, "verity"), args, {
      cwd: repoRoot,
      env: { ...process.env, PATH: pinnedPath(), VERITY_STATE_DIR: undefined },
      timeout: SETTLED_WITHIN_MS + 10_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

const failedChecks = (verification: RecordVerification) =>
  verification.checks.filter((c) => c.status === "fail").map((c) => c.check);

describe("npx verity, on a settled answer", () => {
  let dir: string;
  let id: string;
  let record: VerityRecord;
  const withLocalJson = () => ["--state-dir", network.stateDir];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "verity-cli-"));
    const { response } = await client.chat.completions
      .create({
        model: "verity-ngram-1",
        messages: [{ role: "user", content: "Check me end to end." }],
        max_tokens: 8,
      })
      .withResponse();
    id = response.headers.get("x-verity-inference-id") ?? "";
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("watch follows the round live to its settlement: committee, verdicts, decision, confirmed", {
    timeout: SETTLED_WITHIN_MS + 15_000,
  }, async () => {
    const watched = await verity("watch", id, ...withLocalJson());
    expect(watched.stderr).toBe("");
    expect(watched.code).toBe(0);
    const lines = watched.stdout.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("committee ")).length).toBeGreaterThanOrEqual(3);
    expect(
      lines.filter((l) => /^verdict +0x[0-9a-fA-F]{40}: valid$/.test(l)).length,
    ).toBeGreaterThanOrEqual(2);
    expect(lines).toContain("round       verified (quorum 2)");
    expect(lines.at(-1)).toMatch(
      /^settlement {2}confirmed in batch \d+, 0x[0-9a-f]{64} \(block \d+\)$/,
    );
  });

  it("verify checks every link from the gateway and the chain, one line each, and exits 0", async () => {
    const run = await verity("verify", id, ...withLocalJson());
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines.slice(0, -1).map((l) => l.split(/\s+/)[1])).toEqual([...RECORD_CHECKS]);
    expect(lines.slice(0, -1).every((l) => l.startsWith("✓ "))).toBe(true);
    expect(lines.at(-1)).toBe("✓ verified and settled: every link checks out against the chain");
  });

  it("export writes a self-contained record that verify --file checks with only a chain RPC, as JSON with --json", async () => {
    const exported = await verity("export", id, ...withLocalJson());
    expect(exported.code).toBe(0);
    record = JSON.parse(exported.stdout) as VerityRecord;
    expect(record).toMatchObject({ format: "verity-record", version: 1, inferenceId: id });
    const file = path.join(dir, "record.json");
    await writeFile(file, exported.stdout);

    // No local.json (an empty state directory): nothing tells it where a gateway is.
    const noGateway = await mkdtemp(path.join(tmpdir(), "verity-cli-empty-"));
    try {
      const run = await verity(
        "verify",
        "--file",
        file,
        "--rpc",
        network.rpcUrl ?? "",
        "--node",
        network.inferenceNode,
        "--state-dir",
        noGateway,
        "--json",
      );
      expect(run.code).toBe(0);
      const verification = JSON.parse(run.stdout) as RecordVerification;
      expect(verification).toMatchObject({ ok: true, complete: true });
      expect(verification.checks.map((c) => c.check)).toEqual([...RECORD_CHECKS]);
    } finally {
      await rm(noGateway, { recursive: true, force: true });
    }
  });

  it.each(RECORD_TAMPERS)(
    "catches $field: exactly its checks fail, with their reasons",
    async ({ expected, tamper }) => {
      expect(record, "the export test's record").toBeDefined();
      const chain = chainView(createPublicClient({ transport: http(network.rpcUrl) }));
      const options = { chain, trustedNodes: [getAddress(network.inferenceNode)] };
      expect(failedChecks(await verifyRecord(record, options))).toEqual([]);
      const tampered = structuredClone(record);
      tamper(tampered);
      const verification = await verifyRecord(tampered, options);
      expect(failedChecks(verification)).toEqual(expected);
      expect(verification.ok).toBe(false);
      for (const check of verification.checks.filter((c) => c.status === "fail")) {
        expect(check.reason).toMatch(/^[a-z_]+$/);
      }
    },
  );

  it("exits 1 on a tampered file and names the failed check and its reason", async () => {
    const tampered = structuredClone(record);
    if (tampered.response.kind === "chat") tampered.response.content += "!";
    const file = path.join(dir, "tampered.json");
    await writeFile(file, JSON.stringify(tampered));
    const run = await verity(
      "verify",
      "--file",
      file,
      "--rpc",
      network.rpcUrl ?? "",
      ...withLocalJson(),
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^✗ response_hash +response_hash_mismatch: /m);
    expect(run.stdout.trim().split("\n").at(-1)).toBe(
      "✗ 1 check(s) failed: do not trust this record",
    );
  });
});

describe("withVerity, on the official OpenAI client", () => {
  it("gives an answer's id and receipt, waits until it is settled, and verifies it against the chain", {
    timeout: SETTLED_WITHIN_MS + 15_000,
  }, async () => {
    const openai = withVerity(
      new OpenAI({ baseURL: `${network.gatewayUrl}/v1`, apiKey: network.apiKey }),
    );
    const completion = await openai.chat.completions.create({
      model: "verity-ngram-1",
      messages: [{ role: "user", content: "And me, from the client." }],
      max_tokens: 8,
    });
    const answer = verityOf(completion);
    expect(answer?.receipt?.inferenceId).toBe(answer?.inferenceId);
    const settled = await openai.verity.settled(answer?.inferenceId ?? "", {
      timeoutMs: SETTLED_WITHIN_MS,
      intervalMs: 250,
    });
    expect(settled).toMatchObject({ ok: true, record: { status: "settled" } });
    const checked = await openai.verity.verify(answer?.inferenceId ?? "", {
      chain: chainView(createPublicClient({ transport: http(network.rpcUrl) })),
      trustedNodes: [getAddress(network.inferenceNode)],
    });
    expect(checked).toMatchObject({ ok: true, verification: { ok: true, complete: true } });
  });
});
