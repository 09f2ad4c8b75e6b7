import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { fingerprint } from "./check-cache.ts";
import { repoRoot } from "./paths.ts";
import { runCommand } from "./run-command.ts";
import { toolFailure } from "./script-error.ts";
import { wranglerSpec } from "./wrangler.ts";

/** The wrangler configs of the workers the local network runs. */
export type WorkerConfig = "wrangler.toml" | "wrangler.verify.toml" | "wrangler.settle.toml";

/** Where built workers are kept: under node_modules, so a fresh install starts empty. */
export const workerBuildDir = path.join(repoRoot, "node_modules", ".cache", "verity", "workers");

/** Builds of one config kept beside the newest, for networks still running older code. */
const KEEP_OLDER = 2;

/** Everything a worker's bundle is made from: a change to any of it means a new build. */
export const workerBuildInputs = (config: WorkerConfig) => [
  "src",
  "packages/protocol",
  "contracts/generated",
  config,
  "package-lock.json",
  "tsconfig.json",
];

const building = new Map<string, Promise<string>>();

/**
 * The worker of `config` built as `wrangler deploy --dry-run` bundles it, for `wrangler dev
 * --no-bundle`: the path of its entry module. A build is reused for as long as its inputs
 * (the sources, the contract ABIs, the config, the lockfile) are unchanged, across processes and runs.
 *
 * Why: `npm test` starts a dozen local networks. Under plain `wrangler dev` each of their five
 * workers bundled the same sources again and kept an esbuild watcher polling them: about 1.1
 * CPU-s at start and 0.04 CPU-s a second after, per worker, a sixth of the suite's CPU.
 */
export function prebuiltWorker(config: WorkerConfig): Promise<string> {
  let build = building.get(config);
  if (!build) {
    build = buildOnce(config);
    // A failed build is not remembered: the next start tries again (after a fix).
    build.catch(() => building.delete(config));
    building.set(config, build);
  }
  return build;
}

async function buildOnce(config: WorkerConfig): Promise<string> {
  const stamp = await fingerprint(workerBuildInputs(config));
  const name = path.basename(config, ".toml");
  const dir = path.join(workerBuildDir, `${name}-${stamp.slice(0, 16)}`);
  const entry = path.join(dir, "index.js");
  if (await exists(entry)) return entry;

  // Built aside and renamed into place, so that a process starting at the same moment sees
  // either nothing or a whole build; when two build at once, the second rename loses, harmlessly.
  await mkdir(workerBuildDir, { recursive: true });
  const scratch = `${dir}.${process.pid}.${Date.now()}.tmp`;
  const { exit, stdout, stderr } = await runCommand(
    `build ${config}`,
    wranglerSpec(["deploy", "--dry-run", "--outdir", scratch, "--config", config]),
  );
  if (exit.code !== 0) {
    await rm(scratch, { recursive: true, force: true });
    const output = [stdout, stderr].join("\n").trim().split("\n").slice(-30).join("\n");
    throw toolFailure(`${config} does not build:\n${output}`, "worker_build");
  }
  try {
    await rename(scratch, dir);
  } catch {
    await rm(scratch, { recursive: true, force: true });
    if (!(await exists(entry))) throw toolFailure(`${config}: the build vanished`, "worker_build");
  }
  await pruneOlderBuilds(name, dir);
  return entry;
}

/**
 * Best effort, never failing a start: another process may be pruning the same directory. Builds
 * of a process killed mid-build (`.tmp`) go once they are an hour old.
 */
async function pruneOlderBuilds(name: string, newest: string): Promise<void> {
  const entries = await readdir(workerBuildDir).catch(() => [] as string[]);
  const withTimes = await Promise.all(
    entries
      .filter((entry) => entry.startsWith(`${name}-`))
      .map((entry) => path.join(workerBuildDir, entry))
      .filter((dir) => dir !== newest)
      .map(async (dir) => ({ dir, mtime: (await stat(dir).catch(() => null))?.mtimeMs })),
  );
  const builds = withTimes.filter((b) => b.mtime !== undefined && !b.dir.endsWith(".tmp"));
  builds.sort((a, b) => (b.mtime ?? 0) - (a.mtime ?? 0));
  const abandoned = withTimes.filter(
    (b) => b.dir.endsWith(".tmp") && b.mtime !== undefined && Date.now() - b.mtime > 3_600_000,
  );
  for (const { dir } of [...builds.slice(KEEP_OLDER), ...abandoned]) {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );
