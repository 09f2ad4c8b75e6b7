import { setTimeout as sleep } from "node:timers/promises";
import { toolFailure } from "./script-error.ts";

/**
 * The path on which wrangler dev (miniflare) runs a worker's `scheduled` handler: always there,
 * no `--test-scheduled` needed (that flag adds `/__scheduled`, through a middleware bundled into
 * the worker). It answers 200 "ok" once the handler and its `waitUntil` work are done, and 500
 * with the outcome when the handler throws.
 */
export const SCHEDULED_PATH = "/cdn-cgi/local/scheduled";

/** The worker's cron as local drivers report it, unless told otherwise. */
export const DEFAULT_CRON = "* * * * *";

export interface TriggerOptions {
  /** What `controller.cron` says; the worker's handler may branch on it. */
  cron?: string;
  signal?: AbortSignal;
  /** Gives up on one run after this long. */
  timeoutMs?: number;
}

/**
 * Runs the `scheduled` handler of the worker at `workerUrl` (under wrangler dev) once, as its
 * cron trigger would. Crons do not fire under wrangler dev, so the local network calls this.
 *
 * @throws VerityError 503 `scheduled_failed` if the worker is unreachable or its handler fails.
 */
export async function triggerScheduled(
  workerUrl: string,
  options: TriggerOptions = {},
): Promise<void> {
  const url = new URL(SCHEDULED_PATH, workerUrl);
  url.searchParams.set("cron", options.cron ?? DEFAULT_CRON);
  const signals = [AbortSignal.timeout(options.timeoutMs ?? 30_000)];
  if (options.signal) signals.push(options.signal);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.any(signals) });
  } catch (err) {
    options.signal?.throwIfAborted();
    throw toolFailure(
      `The scheduled handler of ${workerUrl} could not be run: ${(err as Error).message}`,
      "scheduled_failed",
      { cause: err },
    );
  }
  const body = (await res.text()).trim();
  if (!res.ok) {
    throw toolFailure(
      `The scheduled handler of ${workerUrl} failed (${res.status} ${body.slice(0, 200)}); the worker's output says why.`,
      "scheduled_failed",
    );
  }
}

export interface TriggerLoopOptions extends TriggerOptions {
  intervalMs: number;
  /** Told about a failure (once, not at every run) and about the recovery after it. */
  report(line: string): void;
  /** Stops the loop when it returns true, checked before each run. */
  shouldStop?(): boolean;
}

/** How long one run may take at least, however short the interval. */
export const MIN_RUN_TIMEOUT_MS = 30_000;

/** Failed runs before the first success that are not reported: the worker may still be starting. */
export const QUIET_START_FAILURES = 2;

/**
 * Runs the scheduled handler every `intervalMs` (the first run one interval from now) until
 * `options.signal` aborts. A failure is reported once, not at every run, and never ends the loop:
 * the worker may be restarting after an edit. Until a first run has worked, the first
 * `QUIET_START_FAILURES` failures are not reported, since the worker may not be up yet.
 */
export async function triggerScheduledEvery(
  workerUrl: string,
  options: TriggerLoopOptions,
): Promise<void> {
  let worked = false;
  let failures = 0;
  let reported = false;
  for (;;) {
    try {
      await sleep(options.intervalMs, undefined, { signal: options.signal });
    } catch {
      return; // aborted
    }
    if (options.shouldStop?.()) return;
    try {
      // Runs never overlap (each is awaited), so a run may outlast a short interval: a busy
      // worker is not a failed one.
      await triggerScheduled(workerUrl, {
        ...options,
        timeoutMs: Math.max(options.intervalMs, MIN_RUN_TIMEOUT_MS),
      });
      if (reported) options.report("scheduled runs work again");
      worked = true;
      failures = 0;
      reported = false;
    } catch (err) {
      if (options.signal?.aborted) return;
      failures += 1;
      if (!reported && (worked || failures > QUIET_START_FAILURES)) {
        options.report(`${(err as Error).message} (retrying every ${options.intervalMs / 1000} s)`);
        reported = true;
      }
    }
  }
}
