import type { BenchSection } from "./bench-section.ts";
import { BENCH_CHAT_MODEL, BENCH_MAX_TOKENS, errorNote, measureChat } from "./chat-load.ts";
import { fixed, formatTable } from "./format-table.ts";

const CONCURRENCY = [1, 16, 64];

/** Requests/s and latency of non-streamed chat through the full path, at rising concurrency. */
export const chatThroughputSection: BenchSection = {
  title: "Chat completions, non-streamed, full path",
  description: `POST /v1/chat/completions, ${BENCH_CHAT_MODEL}, max_tokens ${BENCH_MAX_TOKENS}: all a real request does (auth, rate limit, generation, signed receipt, D1 record, verification round start).`,
  async run(ctx) {
    const rows: string[][] = [];
    const notes: string[] = [];
    for (const concurrency of CONCURRENCY) {
      const result = await measureChat(ctx, "/v1/chat/completions", concurrency);
      rows.push([
        String(concurrency),
        String(result.stats.count),
        fixed(result.requestsPerSecond),
        fixed(result.stats.p50),
        fixed(result.stats.p99),
        String(result.errors),
      ]);
      notes.push(errorNote(`concurrency ${concurrency}`, result));
    }
    const table = formatTable(
      [
        { title: "concurrency" },
        { title: "requests" },
        { title: "req/s" },
        { title: "p50 ms" },
        { title: "p99 ms" },
        { title: "errors" },
      ],
      rows,
    );
    return [table, ...notes.filter(Boolean)].join("\n");
  },
};
