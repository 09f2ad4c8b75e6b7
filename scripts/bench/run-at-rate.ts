import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";

export interface RateOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Requests started per second, whatever the answers take (an open loop). */
  ratePerSecond: number;
  durationMs: number;
  /** A request due while this many are in flight is not sent, and counted as skipped. */
  maxInFlight: number;
  /** Called with every successful answer. */
  onAnswer?(response: Response, text: string): void;
  signal?: AbortSignal;
}

export interface RateResult {
  sent: number;
  succeeded: number;
  errors: number;
  /** Due while `maxInFlight` requests were still out: the gateway fell behind the rate. */
  skipped: number;
  firstError?: string;
  /** From the first request to the last answer. */
  elapsedMs: number;
}

/**
 * POSTs `body` to `url` at a steady `ratePerSecond` for `durationMs` (request i is due at
 * i / rate seconds), then waits for the answers still out. Unlike a closed loop, a slow answer
 * does not slow the load down: that is what tells whether a system keeps pace with it.
 */
export async function runAtRate(options: RateOptions): Promise<RateResult> {
  const result: RateResult = { sent: 0, succeeded: 0, errors: 0, skipped: 0, elapsedMs: 0 };
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  const total = Math.floor((options.durationMs / 1000) * options.ratePerSecond);

  const send = async () => {
    try {
      const res = await fetch(options.url, {
        method: "POST",
        headers: options.headers,
        body: options.body,
        signal: options.signal,
      });
      const text = await res.text();
      if (res.ok) {
        result.succeeded += 1;
        options.onAnswer?.(res, text);
      } else {
        result.errors += 1;
        result.firstError ??= `${res.status}: ${text.slice(0, 300)}`;
      }
    } catch (err) {
      if (options.signal?.aborted) return;
      result.errors += 1;
      result.firstError ??= (err as Error).message;
    }
  };

  for (let i = 0; i < total; i++) {
    options.signal?.throwIfAborted();
    const due = started + (i * 1000) / options.ratePerSecond;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal: options.signal });
    if (inFlight.size >= options.maxInFlight) {
      result.skipped += 1;
      continue;
    }
    result.sent += 1;
    const request = send().finally(() => inFlight.delete(request));
    inFlight.add(request);
  }
  await Promise.all(inFlight);
  options.signal?.throwIfAborted();
  result.elapsedMs = performance.now() - started;
  return result;
}
