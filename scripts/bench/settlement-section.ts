import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { binDir, pinnedPath, repoRoot } from "../lib/paths.ts";
import { runCommandOrFail } from "../lib/run-command.ts";
import type { BenchContext, BenchSection } from "./bench-section.ts";
import { BENCH_CHAT_MODEL, benchChatBody } from "./chat-load.ts";
import { fixed, formatTable } from "./format-table.ts";
import { latencyStats } from "./latency-stats.ts";

const CALLS = 5;
/** Calls are spread over one settler tick, so they meet it at different points of its interval. */
const CALL_SPACING_MS = 2_000;
const SETTLED_WITHIN_MS = 120_000;
const TREE_LEAVES = 100_000;
const INFERENCE_ID_HEADER = "x-verity-inference-id";

const Snapshot = z.object({
  status: z.string(),
  verification: z.object({ decidedAt: z.number().nullable().optional() }),
  settlement: z
    .object({
      status: z.string(),
      batchId: z.string().nullable(),
      confirmedAt: z.number().nullable(),
    })
    .nullable()
    .optional(),
});
const TreeTiming = z.object({
  leaves: z.number(),
  nodes: z.number(),
  hashMs: z.number(),
  keccakMs: z.number(),
  keccakMBps: z.number(),
  buildMs: z.number(),
  proofDepth: z.number(),
  storedProofUs: z.number(),
  libraryProofUs: z.number(),
  verifyUs: z.number(),
  verified: z.boolean(),
});

/**
 * How long the local network takes from a round's decision to its record's settlement on the
 * local chain, and what the settlement tree costs: building a 100,000-leaf batch tree and
 * serving one proof from its stored nodes.
 */
export const settlementSection: BenchSection = {
  title: "Settlement",
  description:
    `${CALLS} chat answers ${CALL_SPACING_MS / 1000} s apart on a network of its own (3 verifiers, anvil mining a block a second), ` +
    "each followed from its round's decision to its batch being 2 blocks deep; then the tree code in Node.",
  network: { verifiers: 3, own: true },
  async run(ctx) {
    const latency = await settleLatency(ctx);
    const tree = await treeTiming(ctx);
    return [latency, "", tree].join("\n");
  },
};

async function settleLatency(ctx: BenchContext): Promise<string> {
  const ids: string[] = [];
  for (let i = 0; i < CALLS; i++) {
    if (i > 0) await sleep(CALL_SPACING_MS, undefined, { signal: ctx.signal });
    const res = await fetch(`${ctx.gatewayUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${ctx.apiKey}`, "content-type": "application/json" },
      body: benchChatBody,
      signal: ctx.signal,
    });
    await res.arrayBuffer();
    const id = res.headers.get(INFERENCE_ID_HEADER);
    if (!res.ok || !id) return `  skipped: a chat call answered ${res.status}`;
    if (ctx.network.rpcUrl === undefined) return "  skipped: the network has no chain";
    ids.push(id);
  }
  ctx.log(`  ${ids.length} calls made; waiting for them to be settled…`);
  const deadline = Date.now() + SETTLED_WITHIN_MS;
  const waits: number[] = [];
  const batches = new Set<string>();
  const proofMs: number[] = [];
  const pending = new Set(ids);
  while (pending.size > 0 && Date.now() < deadline) {
    for (const id of [...pending]) {
      const res = await fetch(`${ctx.gatewayUrl}/v1/inferences/${id}`, {
        headers: { authorization: `Bearer ${ctx.apiKey}` },
        signal: ctx.signal,
      });
      const record = Snapshot.parse(await res.json());
      const decidedAt = record.verification.decidedAt;
      const confirmedAt = record.settlement?.confirmedAt;
      if (record.status !== "settled" || !decidedAt || !confirmedAt) continue;
      pending.delete(id);
      waits.push(confirmedAt - decidedAt);
      if (record.settlement?.batchId) batches.add(record.settlement.batchId);
      const started = performance.now();
      const proof = await fetch(`${ctx.gatewayUrl}/v1/inferences/${id}/proof`, {
        headers: { authorization: `Bearer ${ctx.apiKey}` },
        signal: ctx.signal,
      });
      await proof.arrayBuffer();
      if (proof.ok) proofMs.push(performance.now() - started);
    }
    if (pending.size > 0) await sleep(250, undefined, { signal: ctx.signal });
  }
  const stats = latencyStats(waits);
  const table = formatTable(
    [
      { title: "settled" },
      { title: "batches" },
      { title: "p50 s" },
      { title: "min s" },
      { title: "max s" },
      { title: "GET /proof ms" },
    ],
    [
      [
        `${waits.length}/${ids.length}`,
        String(batches.size),
        fixed(stats.p50 / 1000, 1),
        fixed(Math.min(...waits) / 1000, 1),
        fixed(stats.max / 1000, 1),
        fixed(latencyStats(proofMs).p50, 1),
      ],
    ],
  );
  const notes = [
    `  Decided to settled: the record's settlement.confirmedAt minus its round's decidedAt (${BENCH_CHAT_MODEL}).`,
    `  The settler ticks every 10 s (npm start's --settle-interval), then co-signs, sends and waits for 2 blocks.`,
  ];
  if (pending.size > 0) {
    notes.push(
      `  ${pending.size} not settled within ${SETTLED_WITHIN_MS / 1000} s, e.g. ${[...pending][0]}`,
    );
  }
  return [table, ...notes].join("\n");
}

async function treeTiming(ctx: BenchContext): Promise<string> {
  ctx.log(`  building a ${TREE_LEAVES.toLocaleString("en-US")}-leaf settlement tree…`);
  const { stdout } = await runCommandOrFail(
    "settlement tree timing",
    {
      command: `${binDir}/tsx`,
      args: [`${repoRoot}/scripts/bench/settlement-tree-timing.ts`, String(TREE_LEAVES)],
      cwd: repoRoot,
      env: { ...process.env, PATH: pinnedPath() },
    },
    { signal: ctx.signal },
  );
  const t = TreeTiming.parse(JSON.parse(stdout.trim().split("\n").at(-1) ?? "null"));
  return [
    formatTable(
      [
        { title: "leaves" },
        { title: "leaf hashes s" },
        { title: "build s" },
        { title: "proof from nodes µs" },
        { title: "library getProof µs" },
        { title: "verify µs" },
        { title: "depth" },
      ],
      [
        [
          t.leaves.toLocaleString("en-US"),
          fixed(t.hashMs / 1000, 1),
          fixed(t.buildMs / 1000, 1),
          fixed(t.storedProofUs, 1),
          fixed(t.libraryProofUs, 0),
          fixed(t.verifyUs, 0),
          String(t.proofDepth),
        ],
      ],
    ),
    `  leaf hashes: every version-2 leaf hashed, as each record is when it arrives; build: buildBatchTree from those stored hashes (SimpleMerkleTree, ${t.nodes.toLocaleString("en-US")} nodes stored); proof from nodes:`,
    "  proofIndices and one stored node per level, as readProof reads them (without D1's query);",
    `  library getProof: the same proof from StandardMerkleTree; verify: StandardMerkleTree.verify (${t.verified ? "ok" : "FAILED"}).`,
    `  keccak256 (WebAssembly) of a 100 KB prompt: ${fixed(t.keccakMs, 2)} ms, ${fixed(t.keccakMBps, 0)} MB/s.`,
  ].join("\n");
}
