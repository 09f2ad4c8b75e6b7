import type { BenchContext, BenchSection } from "./bench-section.ts";
import { benchChatBody, errorNote, measureChat } from "./chat-load.ts";
import { fixed, formatTable } from "./format-table.ts";

const CONCURRENCY = [1, 16];
export const BARE_PATH = "/bench/bare/chat/completions";

/**
 * What signing the receipt and recording the inference in D1 add: the same requests through the
 * full path and through the gateway's bare handler (same body, auth and model; no receipt, no
 * record), measured back to back in one run.
 */
export const receiptCostSection: BenchSection = {
  title: "Cost of the receipt-and-record path",
  description: `/v1/chat/completions vs ${BARE_PATH} (same body, auth and model; no receipt, no D1 record), back to back.`,
  async run(ctx) {
    const unavailable = await bareUnavailable(ctx);
    if (unavailable) return `  skipped: ${unavailable}`;
    const rows: string[][] = [];
    const notes: string[] = [];
    for (const concurrency of CONCURRENCY) {
      const bare = await measureChat(ctx, BARE_PATH, concurrency);
      const full = await measureChat(ctx, "/v1/chat/completions", concurrency);
      rows.push([
        String(concurrency),
        fixed(full.stats.p50, 2),
        fixed(bare.stats.p50, 2),
        fixed(full.stats.p50 - bare.stats.p50, 2),
        `${fixed(full.stats.p50 / bare.stats.p50, 2)}x`,
        fixed(full.requestsPerSecond),
        fixed(bare.requestsPerSecond),
      ]);
      notes.push(errorNote(`full, concurrency ${concurrency}`, full));
      notes.push(errorNote(`bare, concurrency ${concurrency}`, bare));
    }
    const table = formatTable(
      [
        { title: "concurrency" },
        { title: "p50 full ms" },
        { title: "p50 bare ms" },
        { title: "Δp50 ms" },
        { title: "full/bare p50" },
        { title: "req/s full" },
        { title: "req/s bare" },
      ],
      rows,
    );
    return [table, ...notes.filter(Boolean)].join("\n");
  },
};

// One probe, so that a gateway without the bench route gives a clear line, not a table of errors.
async function bareUnavailable(ctx: BenchContext): Promise<string | undefined> {
  const res = await fetch(`${ctx.gatewayUrl}${BARE_PATH}`, {
    method: "POST",
    headers: { authorization: `Bearer ${ctx.apiKey}`, "content-type": "application/json" },
    body: benchChatBody,
    signal: ctx.signal,
  });
  const text = await res.text();
  if (res.ok) return undefined;
  if (res.status === 404) {
    return `the gateway has no ${BARE_PATH} (it serves it only when the var VERITY_BENCH is "1").`;
  }
  return `${BARE_PATH} answered ${res.status}: ${text.slice(0, 300)}`;
}
