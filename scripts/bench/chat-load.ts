import type { BenchContext } from "./bench-section.ts";
import { type LoadResult, runLoad } from "./run-load.ts";

export const BENCH_CHAT_MODEL = "verity-ngram-1";
export const BENCH_MAX_TOKENS = 32;

/** The non-streamed chat request every chat row sends. */
export const benchChatBody = JSON.stringify({
  model: BENCH_CHAT_MODEL,
  messages: [{ role: "user", content: "Tell me about the sea and the ships that sail on it." }],
  max_tokens: BENCH_MAX_TOKENS,
});

/**
 * Warms `path` up at `concurrency`, then measures it: the chat body, POSTed with the bench's
 * key to the local gateway.
 */
export async function measureChat(
  ctx: BenchContext,
  path: string,
  concurrency: number,
): Promise<LoadResult> {
  const load = {
    url: `${ctx.gatewayUrl}${path}`,
    headers: { authorization: `Bearer ${ctx.apiKey}`, "content-type": "application/json" },
    body: benchChatBody,
    concurrency,
    maxRequests: ctx.maxRequests,
    signal: ctx.signal,
  };
  ctx.log(`  ${path} at concurrency ${concurrency}…`);
  await runLoad({ ...load, durationMs: ctx.warmupMs });
  return runLoad({ ...load, durationMs: ctx.durationMs });
}

/** A result's failures, for a note under a table; empty when there were none. */
export const errorNote = (label: string, result: LoadResult) =>
  result.errors > 0
    ? `  ${label}: ${result.errors} failed requests, first: ${result.firstError}`
    : "";
