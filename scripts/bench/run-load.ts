import { performance } from "node:perf_hooks";
import { type LatencyStats, latencyStats } from "./latency-stats.ts";

export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Requests in flight at once (a closed loop: each worker sends its next when one returns). */
  concurrency: number;
  /** How long to send new requests for. */
  durationMs: number;
  /** A bound on requests, whatever the duration. */
  maxRequests: number;
  signal?: AbortSignal;
}

export interface LoadResult {
  /** Latencies of the successful (2xx) requests. */
  stats: LatencyStats;
  requestsPerSecond: number;
  errors: number;
  /** The first failure, as "status: body" or the network error. */
  firstError?: string;
}

/**
 * POSTs `body` to `url` from `concurrency` workers for `durationMs` or `maxRequests`, whichever
 * ends first, and measures each request until its body is read.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let sent = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + options.durationMs;

  const worker = async () => {
    while (performance.now() < deadline && sent < options.maxRequests) {
      options.signal?.throwIfAborted();
      sent += 1;
      const t0 = performance.now();
      try {
        const res = await fetch(options.url, {
          method: "POST",
          headers: options.headers,
          body: options.body,
          signal: options.signal,
        });
        const text = await res.text();
        if (res.ok) {
          latencies.push(performance.now() - t0);
        } else {
          errors += 1;
          firstError ??= `${res.status}: ${text.slice(0, 300)}`;
        }
      } catch (err) {
        options.signal?.throwIfAborted();
        errors += 1;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedSeconds = (performance.now() - started) / 1000;
  return {
    stats: latencyStats(latencies),
    requestsPerSecond: latencies.length / elapsedSeconds,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
  };
}
