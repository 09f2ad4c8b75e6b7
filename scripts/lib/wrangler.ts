import path from "node:path";
import { binDir, pinnedPath, repoRoot } from "./paths.ts";
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
  };
  for (const [name, value] of Object.entries(extraEnv)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return { command: path.join(binDir, "wrangler"), args, cwd: repoRoot, env };
}
