import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { executeD1, sqlInteger } from "../lib/d1.ts";
import { wranglerPersistDir } from "../lib/state-dir.ts";
import type { BenchContext, BenchSection } from "./bench-section.ts";
import { BENCH_CHAT_MODEL, BENCH_MAX_TOKENS, benchChatBody } from "./chat-load.ts";
import { fixed, formatTable } from "./format-table.ts";
import { latencyStats } from "./latency-stats.ts";
import { type DecidedRound, formatOutcomes, roundFigures } from "./round-figures.ts";
import { runAtRate } from "./run-at-rate.ts";

const BATCH = 100;
const BATCH_CONCURRENCY = 16;
const POLL_CONCURRENCY = 8;
const DECIDED_WITHIN_MS = 120_000;
/** When the backlog is counted again after the steady load ends: two round deadlines. */
const BACKLOG_AGAIN_AFTER_MS = 10_000;
const INFERENCE_ID_HEADER = "x-verity-inference-id";

const Snapshot = z.object({
  status: z.string(),
  receipt: z.object({ createdAt: z.number() }),
  verification: z.object({ status: z.string(), decidedAt: z.number().nullable().optional() }),
});

/**
 * How fast the local verification network decides rounds, on a network of its own with three
 * verifier nodes: receipt-to-decision latency and rounds per second for a batch of 100, then
 * whether it keeps pace with a steady load, by the backlog of undecided rounds it leaves.
 */
export const verificationSection: BenchSection = {
  title: "Verification rounds",
  description:
    `${BATCH} chat answers (${BENCH_CHAT_MODEL}, max_tokens ${BENCH_MAX_TOKENS}) in flight, each judged by a committee ` +
    "of 3 verifier nodes (quorum 2), on a network of its own; then a steady load at a fixed rate.",
  network: { verifiers: 3, own: true },
  async run(ctx) {
    const batch = await batchFigures(ctx);
    const keepPace = await keepPaceFigures(ctx);
    return [batch, "", keepPace].join("\n");
  },
};

async function batchFigures(ctx: BenchContext): Promise<string> {
  ctx.log(`  ${BATCH} chat calls, ${BATCH_CONCURRENCY} at a time…`);
  const firedAt = performance.now();
  const { ids, errors, firstError } = await chatBatch(ctx, BATCH, BATCH_CONCURRENCY);
  const firedMs = performance.now() - firedAt;
  ctx.log(`  waiting for ${ids.length} rounds to be decided…`);
  const { decided, undecided } = await waitUntilDecided(ctx, ids, DECIDED_WITHIN_MS);
  const figures = roundFigures(decided);
  const table = formatTable(
    [
      { title: "rounds" },
      { title: "outcomes", align: "left" },
      { title: "p50 ms" },
      { title: "p99 ms" },
      { title: "max ms" },
      { title: "rounds/s" },
    ],
    [
      [
        String(decided.length),
        formatOutcomes(figures.outcomes),
        fixed(figures.latency.p50, 0),
        fixed(figures.latency.p99, 0),
        fixed(figures.latency.max, 0),
        fixed(figures.decidedPerSecond),
      ],
    ],
  );
  const notes = [
    `  ${ids.length} answers in ${fixed(firedMs / 1000, 2)} s. Latency: the round's decidedAt minus the receipt's`,
    "  createdAt; rounds/s: rounds over the time from the first receipt to the last decision.",
  ];
  if (errors > 0) notes.push(`  ${errors} chat calls failed, first: ${firstError}`);
  if (undecided.length > 0) {
    notes.push(
      `  ${undecided.length} rounds not decided within ${DECIDED_WITHIN_MS / 1000} s, e.g. ${undecided[0]}`,
    );
  }
  return [`  Batch of ${BATCH}`, table, ...notes].join("\n");
}

async function keepPaceFigures(ctx: BenchContext): Promise<string> {
  const seconds = ctx.keepPaceMs / 1000;
  ctx.log(`  steady load: ${ctx.keepPaceRate} chat calls/s for ${seconds} s…`);
  const since = Date.now();
  const load = await runAtRate({
    url: `${ctx.gatewayUrl}/v1/chat/completions`,
    headers: { authorization: `Bearer ${ctx.apiKey}`, "content-type": "application/json" },
    body: benchChatBody,
    ratePerSecond: ctx.keepPaceRate,
    durationMs: ctx.keepPaceMs,
    maxInFlight: 256,
    signal: ctx.signal,
  });
  const loadEnded = Date.now();
  const atEnd = await roundsSince(ctx, since);
  const atEndAfter = (Date.now() - loadEnded) / 1000;
  const remaining = loadEnded + BACKLOG_AGAIN_AFTER_MS - Date.now();
  if (remaining > 0) await sleep(remaining, undefined, { signal: ctx.signal });
  const later = await roundsSince(ctx, since);
  const laterAfter = (Date.now() - loadEnded) / 1000;

  const latency = latencyStats(later.decidedMs);
  const table = formatTable(
    [
      { title: "answered" },
      { title: "errors" },
      { title: "skipped" },
      { title: "decided at end" },
      { title: "backlog at end" },
      { title: `backlog +${fixed(laterAfter, 0)} s` },
      { title: "p50 ms" },
      { title: "p99 ms" },
    ],
    [
      [
        String(load.succeeded),
        String(load.errors),
        String(load.skipped),
        String(atEnd.decided),
        String(atEnd.pending),
        String(later.pending),
        fixed(latency.p50, 0),
        fixed(latency.p99, 0),
      ],
    ],
  );
  const notes = [
    `  Backlog: answers of the run whose round is undecided, counted in D1 ${fixed(atEndAfter, 1)} s and`,
    `  ${fixed(laterAfter, 1)} s after the load ended. Latency: receipt to decision written to D1 (updated_at - created_at).`,
    `  Outcomes after ${fixed(laterAfter, 0)} s: ${formatOutcomes(later.outcomes)}.`,
  ];
  if (load.errors > 0) notes.push(`  first error: ${load.firstError}`);
  if (load.skipped > 0) {
    notes.push(`  ${load.skipped} calls not sent: 256 were already waiting for an answer.`);
  }
  return [
    `  Keep pace: ${ctx.keepPaceRate} chat calls/s for ${seconds} s (open loop)`,
    table,
    ...notes,
  ].join("\n");
}

/** `count` chat calls, `concurrency` at a time; the ids of the answered ones. */
async function chatBatch(ctx: BenchContext, count: number, concurrency: number) {
  const ids: string[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const worker = async () => {
    while (next < count) {
      next += 1;
      ctx.signal.throwIfAborted();
      try {
        const res = await fetch(`${ctx.gatewayUrl}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${ctx.apiKey}`, "content-type": "application/json" },
          body: benchChatBody,
          signal: ctx.signal,
        });
        const text = await res.text();
        const id = res.headers.get(INFERENCE_ID_HEADER);
        if (res.ok && id) ids.push(id);
        else {
          errors += 1;
          firstError ??= `${res.status}: ${text.slice(0, 300)}`;
        }
      } catch (err) {
        ctx.signal.throwIfAborted();
        errors += 1;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ids, errors, firstError };
}

/** Polls `GET /v1/inferences/{id}` for each id until its round is decided or `withinMs` passes. */
async function waitUntilDecided(ctx: BenchContext, ids: readonly string[], withinMs: number) {
  const decided: DecidedRound[] = [];
  let undecided = [...ids];
  const deadline = Date.now() + withinMs;
  while (undecided.length > 0 && Date.now() < deadline) {
    const stillOpen: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < undecided.length) {
        const id = undecided[next++] ?? "";
        const round = await decidedRound(ctx, id);
        if (round) decided.push(round);
        else stillOpen.push(id);
      }
    };
    await Promise.all(Array.from({ length: POLL_CONCURRENCY }, worker));
    undecided = stillOpen;
    if (undecided.length > 0) await sleep(250, undefined, { signal: ctx.signal });
  }
  return { decided, undecided };
}

async function decidedRound(ctx: BenchContext, id: string): Promise<DecidedRound | undefined> {
  const res = await fetch(`${ctx.gatewayUrl}/v1/inferences/${id}`, {
    headers: { authorization: `Bearer ${ctx.apiKey}` },
    signal: ctx.signal,
  }).catch((err: unknown) => {
    ctx.signal.throwIfAborted();
    throw err;
  });
  const parsed = Snapshot.safeParse(await res.json().catch(() => undefined));
  if (!res.ok || !parsed.success) return undefined;
  const { receipt, verification } = parsed.data;
  if (verification.status === "pending" || verification.status === "running") return undefined;
  if (typeof verification.decidedAt !== "number") return undefined;
  return {
    createdAt: receipt.createdAt,
    decidedAt: verification.decidedAt,
    status: verification.status,
  };
}

const StatusCount = z.object({ status: z.string(), n: z.number() });
const DecidedRow = z.object({ ms: z.number() });

/**
 * The records stored since `since` (ms), read from the network's D1 directly so that counting
 * adds no load to the gateway: how many are decided, how many pending, and how long each
 * decided one took from receipt to the decision written (`updated_at - created_at`).
 */
async function roundsSince(ctx: BenchContext, since: number) {
  const sql = [
    `SELECT status, COUNT(*) AS n FROM inferences WHERE created_at >= ${sqlInteger(since)} GROUP BY status`,
    `SELECT updated_at - created_at AS ms FROM inferences WHERE created_at >= ${sqlInteger(since)} AND status <> 'pending'`,
  ];
  const target = { kind: "local", persistTo: wranglerPersistDir(ctx.network.stateDir) } as const;
  // executeD1 waits out the gateway's lock on the same file.
  const results = await executeD1(target, sql, { signal: ctx.signal });
  const outcomes: Record<string, number> = {};
  for (const row of z.array(StatusCount).parse(results[0] ?? [])) outcomes[row.status] = row.n;
  const { pending = 0, ...decidedOutcomes } = outcomes;
  return {
    pending,
    decided: Object.values(decidedOutcomes).reduce((sum, n) => sum + n, 0),
    outcomes: decidedOutcomes,
    decidedMs: z
      .array(DecidedRow)
      .parse(results[1] ?? [])
      .map((row) => row.ms),
  };
}
