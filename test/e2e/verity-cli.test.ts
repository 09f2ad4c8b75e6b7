// `npx verity` against a real `npm start`: an answer is followed live, verified, exported, and
// checked again from the file with only the chain; then every field of the file is tampered
// with, and exactly the check that guards it fails.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import OpenAI from "openai";
import { createPublicClient, getAddress, type Hex, http } from "viem";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { binDir, pinnedPath, repoRoot } from "../../scripts/lib/paths.ts";
import { chainView } from "../../src/protocol/chain-view.ts";
import {
  RECORD_CHECKS,
  type RecordVerification,
  verifyRecord,
} from "../../src/protocol/verify-record.ts";
import type { VerityRecord } from "../../src/protocol/verity-record.ts";

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

/** The hex string with its last byte flipped: one byte, still well-formed. */
const flipLastByte = (hex: string): Hex =>
  `${hex.slice(0, -2)}${((Number.parseInt(hex.slice(-2), 16) ^ 0xff) & 0xff).toString(16).padStart(2, "0")}` as Hex;

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

  // Each change is one byte or one value of the exported file; the set is every check that
  // reads that field, and no other.
  const tampers: [string, string[], (r: VerityRecord) => void][] = [
    [
      "the response content",
      ["response_hash"],
      (r) => {
        if (r.response.kind === "chat") r.response.content = `${r.response.content}!`;
      },
    ],
    [
      "the request content",
      ["request_hash"],
      (r) => {
        if (r.request.kind === "chat" && r.request.messages[0])
          r.request.messages[0].content += "?";
      },
    ],
    [
      "the receipt's signature (wherever the file holds it)",
      ["receipt_signature"],
      (r) => {
        r.receipt.signature = flipLastByte(r.receipt.signature);
        if (r.round) r.round.receipt.signature = r.receipt.signature;
      },
    ],
    // The verdicts' digest commits to each signature and signer, so it fails with them.
    [
      "a verdict's signature",
      ["verdicts_digest", "verdict_signatures"],
      (r) => {
        const verdict = r.round?.verdicts[0];
        if (verdict) verdict.signature = flipLastByte(verdict.signature);
      },
    ],
    [
      "a verdict's signer",
      ["verdicts_digest", "verdict_signatures"],
      (r) => {
        const round = r.round;
        const verdict = round?.verdicts[0];
        const other = round?.committee.find((m) => !round.verdicts.some((v) => v.verifier === m));
        if (verdict && other) verdict.verifier = other;
      },
    ],
    [
      "the committee",
      ["committee"],
      (r) => {
        r.round?.committee.reverse();
      },
    ],
    [
      "the quorum",
      ["quorum"],
      (r) => {
        if (r.round) r.round.quorum = r.round.verdicts.length + 1;
      },
    ],
    [
      "the leaf",
      ["leaf"],
      (r) => {
        if (r.settlement) r.settlement.leafHash = flipLastByte(r.settlement.leafHash);
      },
    ],
    [
      "one proof element",
      ["proof"],
      (r) => {
        const s = r.settlement;
        if (!s) return;
        if (s.proof.length === 0) s.proof.push(`0x${"11".repeat(32)}`);
        else s.proof[0] = flipLastByte(s.proof[0] as Hex);
      },
    ],
    [
      "the root",
      ["root_on_chain"],
      (r) => {
        if (r.settlement) r.settlement.root = flipLastByte(r.settlement.root);
      },
    ],
    [
      "the chain id",
      ["chain_id"],
      (r) => {
        if (r.settlement) r.settlement.chainId = 1;
      },
    ],
    [
      "the transaction",
      ["transaction"],
      (r) => {
        if (r.settlement) r.settlement.transactionHash = flipLastByte(r.settlement.transactionHash);
      },
    ],
  ];

  it.each(tampers)(
    "catches %s: exactly its checks fail, with their reasons",
    async (_field, expected, tamper) => {
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
