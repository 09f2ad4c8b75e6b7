import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: where wrangler.toml, package.json and node_modules live. */
export const repoRoot = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** `node_modules/.bin`: the pinned wrangler, tsx and Node 22 (wrangler refuses older Nodes). */
export const binDir = path.join(repoRoot, "node_modules", ".bin");

/** PATH with `node_modules/.bin` first, so that `#!/usr/bin/env node` finds the pinned Node. */
export const pinnedPath = (current = process.env.PATH ?? "") =>
  current ? `${binDir}${path.delimiter}${current}` : binDir;
