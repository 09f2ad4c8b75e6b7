import path from "node:path";
import { binDir, nodeCompileCacheDir, pinnedPath, repoRoot } from "./paths.ts";
import type { ProcessSpec } from "./process-group.ts";

/**
 * How to run the project's pinned wrangler, however this script was launched: wrangler needs
 * Node 22, so `node_modules/.bin` (which holds it) goes first in PATH. `extraEnv` entries set to
 * `undefined` are removed from the environment.
 */
export function wranglerSpec(
  args: readonly string[],
  extraEnv: Record<string, string | undefined> = {},
): ProcessSpec {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: pinnedPath(),
    // Stay offline and quiet: no telemetry, no error reports, no fetch of the `Request.cf`
    // placeholder from the internet (miniflare falls back to a default one).
    WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false",
    WRANGLER_SEND_ERROR_REPORTS: process.env.WRANGLER_SEND_ERROR_REPORTS ?? "false",
    CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? "false",
    NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? nodeCompileCacheDir,
  };
  for (const [name, value] of Object.entries(extraEnv)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return { command: path.join(binDir, "wrangler"), args, cwd: repoRoot, env };
}

/**
 * The `wrangler dev` flags every local worker shares: where it listens, where its state and
 * secrets live, quiet logs, and its vars. A random inspector port lets several local networks
 * run side by side.
 */
export function wranglerDevArgs(options: {
  host: string;
  port: number;
  persistTo: string;
  envFile: string;
  vars?: Record<string, string>;
}): string[] {
  return [
    "--ip",
    options.host,
    "--port",
    String(options.port),
    "--inspector-port",
    "0",
    "--persist-to",
    options.persistTo,
    "--env-file",
    options.envFile,
    "--log-level",
    "warn",
    "--show-interactive-dev-session=false",
    ...Object.entries(options.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  ];
}

// What wrangler dev prints at --log-level warn that tells a developer nothing (its debug log in
// the state directory keeps everything). wrangler dev never fires crons on its own; the local
// network's cron driver (scheduled-trigger-service.ts) does, so its warning about that is noise.
const NOISE = [/^\s*$/, /Logs were written to/];
const NOISY_WARNINGS = [/\[WARNING\] Scheduled Workers are not automatically triggered/];

/**
 * A `Service.isNoise` for a `wrangler dev` process. It keeps state: the noisy warnings are dropped
 * with their indented continuation lines, so each process needs a filter of its own.
 */
export function wranglerDevNoise(): (line: string) => boolean {
  let inNoisyWarning = false;
  return (line) => {
    if (NOISY_WARNINGS.some((pattern) => pattern.test(line))) {
      inNoisyWarning = true;
      return true;
    }
    if (inNoisyWarning && /^(\s|$)/.test(line)) return true;
    inNoisyWarning = false;
    return NOISE.some((pattern) => pattern.test(line));
  };
}

/** A `Service.isFatalAtStart` for `wrangler dev`: it stays up after a failed build, waiting for a fix. */
export const isWranglerBuildFailure = (line: string) => /\[ERROR\] Build failed/.test(line);

/**
 * The `wrangler dev` arguments that choose a worker's code: a prebuilt entry module run as it is
 * (see worker-build.ts), or, with none, the config's `main` bundled and watched for edits.
 */
export const wranglerDevCodeArgs = (prebuilt: string | undefined): string[] =>
  prebuilt ? [prebuilt, "--no-bundle"] : [];
