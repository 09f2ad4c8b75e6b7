import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: where wrangler.toml, package.json and node_modules live. */
export const repoRoot = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** `node_modules/.bin`: the pinned wrangler, tsx and Node 22 (wrangler refuses older Nodes). */
export const binDir = path.join(repoRoot, "node_modules", ".bin");

/** PATH with `node_modules/.bin` first, so that `#!/usr/bin/env node` finds the pinned Node. */
export const pinnedPath = (current = process.env.PATH ?? "") =>
  current ? `${binDir}${path.delimiter}${current}` : binDir;

/**
 * Node's on-disk compile cache for the processes scripts spawn (`NODE_COMPILE_CACHE`): wrangler
 * is started dozens of times in `npm test`, and the cache takes about 0.4 s of parsing off each
 * start (1.3 s to 0.9 s for `wrangler --version` here).
 */
export const nodeCompileCacheDir = path.join(repoRoot, "node_modules", ".cache", "node-compile");
