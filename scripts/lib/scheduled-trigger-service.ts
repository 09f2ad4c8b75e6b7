import path from "node:path";
import { binDir, pinnedPath, repoRoot } from "./paths.ts";
import type { Service } from "./service.ts";
import { DEFAULT_CRON, triggerScheduled } from "./trigger-scheduled.ts";

export interface ScheduledTriggerOptions {
  /** The service's name, e.g. "cron". */
  name: string;
  /** The base URL of the worker whose cron handler to run. */
  workerUrl: string;
  /** The service that runs that worker: the driver is ready once it is and a first run worked. */
  workerService: string;
  intervalMs: number;
  /** What `controller.cron` says (default every minute, as the workers' wrangler configs say). */
  cron?: string;
}

/**
 * A cron for a worker under wrangler dev, which never fires crons itself: a small Node process
 * (scripts/trigger-scheduled.ts) that runs the worker's `scheduled` handler every `intervalMs`.
 * The process starts only once the worker answers, so it never runs against a worker that is
 * still starting. Readiness runs the handler once at once, so whatever the cron catches up on
 * (rounds a crash left unstarted, for the gateway) is caught up on at start. Any worker of the
 * network can have one.
 */
export function scheduledTriggerService(options: ScheduledTriggerOptions): Service {
  const cron = options.cron ?? DEFAULT_CRON;
  return {
    name: options.name,

    async prepare(ctx) {
      await ctx.reached(options.workerService, "ready");
    },

    process(ctx) {
      return {
        // The pinned Node: it runs TypeScript as is.
        command: path.join(binDir, "node"),
        args: [
          path.join(repoRoot, "scripts", "trigger-scheduled.ts"),
          "--url",
          options.workerUrl,
          "--every",
          String(options.intervalMs / 1000),
          "--cron",
          cron,
          // So that a later run can tell this process is ours (see run-lock.ts).
          "--state-dir",
          ctx.stateDir,
        ],
        cwd: repoRoot,
        env: { ...process.env, PATH: pinnedPath() },
      };
    },

    async ready(ctx) {
      await triggerScheduled(options.workerUrl, { cron, signal: ctx.signal });
    },

    info: () => ({}),
  };
}
