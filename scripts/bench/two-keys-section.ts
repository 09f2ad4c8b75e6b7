import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { createApiKey } from "../lib/api-key-store.ts";
import { wranglerPersistDir } from "../lib/state-dir.ts";
import type { BenchContext, BenchSection } from "./bench-section.ts";
import { benchChatBody } from "./chat-load.ts";
import { fixed, formatTable } from "./format-table.ts";
import { latencyStats } from "./latency-stats.ts";

/** The heavy key's embedding calls, by number of inputs: the calls that once starved others. */
const HEAVY_EMBEDDINGS = [1_000, 1_250, 1_500, 1_750, 2_048, 2_048, 1_024, 1_536];
const HEAVY_CHATS = 200;
const HEAVY_CHAT_CONCURRENCY = 20;
const LIGHT_CHATS = 10;
const LIGHT_GAP_MS = 1_000;
/** Long enough for every silence retry of a round (about 2.5 min with the default deadline). */
const DECIDED_WITHIN_MS = 240_000;

const Record = z.object({
  status: z.string(),
  receipt: z.object({ createdAt: z.number() }),
  verification: z.object({ status: z.string(), decidedAt: z.number().nullable().optional() }),
});

interface Call {
  id: string;
  key: string;
}

/**
 * Two API keys at once on a network of its own: a heavy one sending large embedding calls and a
 * burst of chats, and a light one sending a chat a second. What matters is the light key's time
 * from call to verified, and that no valid call ends inconclusive.
 */
export const twoKeysSection: BenchSection = {
  title: "Two keys under load",
  description:
    `A heavy key: ${HEAVY_EMBEDDINGS.length} embedding calls of 1,000 to 2,048 inputs (4 at a time) and ${HEAVY_CHATS} chats ` +
    `(${HEAVY_CHAT_CONCURRENCY} at a time); beside it a light key: ${LIGHT_CHATS} chats, one a second. 3 verifiers, quorum 2.`,
  network: { verifiers: 3, own: true },
  async run(ctx) {
    const { key: heavyKey } = await createApiKey(
      { kind: "local", persistTo: wranglerPersistDir(ctx.network.stateDir) },
      { name: "bench heavy key", rateLimitPerMinute: 100_000 },
    );
    ctx.log("  heavy and light load together…");
    const started = Date.now();
    const [heavyEmbeddings, heavyChats, light] = await Promise.all([
      inParallel(HEAVY_EMBEDDINGS, 4, (inputs) => embed(ctx, heavyKey, inputs)),
      inParallel(Array.from({ length: HEAVY_CHATS }), HEAVY_CHAT_CONCURRENCY, () =>
        chat(ctx, heavyKey),
      ),
      (async () => {
        const calls: (Call | undefined)[] = [];
        for (let i = 0; i < LIGHT_CHATS; i++) {
          calls.push(await chat(ctx, ctx.apiKey));
          await sleep(LIGHT_GAP_MS, undefined, { signal: ctx.signal });
        }
        return calls;
      })(),
    ]);
    const sentFor = (Date.now() - started) / 1000;
    const answered = [...heavyEmbeddings, ...heavyChats, ...light].filter(
      (c): c is Call => c !== undefined,
    );
    const failed = HEAVY_EMBEDDINGS.length + HEAVY_CHATS + LIGHT_CHATS - answered.length;
    ctx.log(`  waiting for ${answered.length} rounds…`);
    const outcomes = await waitUntilDecided(ctx, answered);
    const lightMs = light
      .filter((c): c is Call => c !== undefined)
      .map((c) => outcomes.get(c.id))
      .filter((r) => r?.status === "verified")
      .map((r) => (r?.decidedAt ?? 0) - (r?.createdAt ?? 0));
    const stats = latencyStats(lightMs);
    const count = (status: string) =>
      [...outcomes.values()].filter((r) => r.status === status).length;
    const undecided = answered.length - outcomes.size;
    const table = formatTable(
      [
        { title: "calls" },
        { title: "failed" },
        { title: "verified" },
        { title: "inconclusive" },
        { title: "undecided" },
        { title: "light p50 ms" },
        { title: "light p99 ms" },
      ],
      [
        [
          String(answered.length),
          String(failed),
          String(count("verified")),
          String(count("inconclusive")),
          String(undecided),
          fixed(stats.p50, 0),
          fixed(stats.p99, 0),
        ],
      ],
    );
    return [
      table,
      `  Sent in ${fixed(sentFor, 1)} s. Light: the light key's call to verified (the round's decidedAt minus the`,
      "  receipt's createdAt). Inconclusive counts every key's records: the aim is 0.",
    ].join("\n");
  },
};

async function inParallel<T, R>(items: readonly T[], width: number, each: (item: T) => Promise<R>) {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      results.push(await each(item));
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return results;
}

async function call(ctx: BenchContext, key: string, path: string, body: string) {
  const res = await fetch(`${ctx.gatewayUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body,
    signal: ctx.signal,
  }).catch(() => undefined);
  if (!res) return undefined;
  await res.text();
  const id = res.headers.get("x-verity-inference-id");
  return res.ok && id ? { id, key } : undefined;
}

const chat = (ctx: BenchContext, key: string) =>
  call(ctx, key, "/v1/chat/completions", benchChatBody);

const embed = (ctx: BenchContext, key: string, inputs: number) =>
  call(
    ctx,
    key,
    "/v1/embeddings",
    JSON.stringify({
      model: "verity-embed-1",
      input: Array.from(
        { length: inputs },
        (_, i) => `bench passage ${i} about rivers and the sea`,
      ),
    }),
  );

async function waitUntilDecided(ctx: BenchContext, calls: readonly Call[]) {
  const decided = new Map<string, { status: string; createdAt: number; decidedAt: number }>();
  const deadline = Date.now() + DECIDED_WITHIN_MS;
  while (decided.size < calls.length && Date.now() < deadline) {
    for (const { id, key } of calls) {
      if (decided.has(id)) continue;
      const res = await fetch(`${ctx.gatewayUrl}/v1/inferences/${id}`, {
        headers: { authorization: `Bearer ${key}` },
        signal: ctx.signal,
      }).catch(() => undefined);
      const parsed = Record.safeParse(await res?.json().catch(() => undefined));
      if (!parsed.success) continue;
      const { verification, receipt } = parsed.data;
      if (verification.status === "running" || verification.status === "pending") continue;
      decided.set(id, {
        status: verification.status,
        createdAt: receipt.createdAt,
        decidedAt: verification.decidedAt ?? Date.now(),
      });
    }
    if (decided.size < calls.length) await sleep(1_000, undefined, { signal: ctx.signal });
  }
  return decided;
}
