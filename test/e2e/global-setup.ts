// Starts the real `npm start` on a temporary state directory and a free port for the e2e
// tests, hands them its local.json, and stops it all afterwards, whatever happened.
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stripVTControlCharacters } from "node:util";
import type { TestProject } from "vitest/node";
import { type LocalNetworkInfo, readLocalJson } from "../../scripts/lib/local-json.ts";
import { DEFAULT_VERIFIERS, localPortCount } from "../../scripts/lib/local-network.ts";
import { pinnedPath, repoRoot } from "../../scripts/lib/paths.ts";
import { freePortRun } from "../../scripts/lib/ports.ts";
import { ProcessGroup } from "../../scripts/lib/process-group.ts";
import { describeExit } from "../../scripts/lib/run-command.ts";
import { stopRecordedGroups } from "../../scripts/lib/run-lock.ts";

declare module "vitest" {
  export interface ProvidedContext {
    localNetwork: LocalNetworkInfo;
  }
}

const START_TIMEOUT_MS = 180_000;
// The cron, the settler and the chain on short intervals, so that a call settles in seconds
// rather than the default network's twenty or so. Tests poll with deadlines; none sleeps.
const SHORT_INTERVALS = ["--cron-interval", "1", "--settle-interval", "1", "--block-time", "0.25"];

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stateDir = await mkdtemp(path.join(tmpdir(), "verity-e2e-"));
  // The gateway's port, then one per verifier, then the chain's.
  const port = await freePortRun(localPortCount(DEFAULT_VERIFIERS));
  const logPath = path.join(stateDir, "start.log");
  const log = createWriteStream(logPath);
  // npm, tsx and start.ts share this process group; start.ts puts its own children in groups
  // of their own and stops them when it gets SIGTERM.
  const npm = await ProcessGroup.start(
    "npm start",
    {
      command: "npm",
      args: [
        "start",
        "--silent",
        "--",
        "--state-dir",
        stateDir,
        "--port",
        String(port),
        ...SHORT_INTERVALS,
      ],
      cwd: repoRoot,
      env: { ...process.env, PATH: pinnedPath(), VERITY_STATE_DIR: undefined, FORCE_COLOR: "0" },
    },
    { onLine: (line) => log.write(`${stripVTControlCharacters(line)}\n`), tailLines: 80 },
  );

  const teardown = async () => {
    await npm.stop(20_000);
    // Only if start.ts died without cleaning up: its run record names what it left.
    const leftovers = await stopRecordedGroups(stateDir);
    log.end();
    if (leftovers.length > 0)
      console.warn(`e2e teardown: stopped leftovers ${leftovers.join(", ")}`);
    if (process.env.VERITY_E2E_KEEP === "1") console.warn(`e2e state kept in ${stateDir}`);
    else await rm(stateDir, { recursive: true, force: true });
  };

  try {
    const info = await waitForLocalJson(stateDir, npm);
    project.provide("localNetwork", info);
    return teardown;
  } catch (err) {
    const output = npm.lastLines().map((line) => `  ${stripVTControlCharacters(line)}`);
    await teardown();
    throw new Error(
      `npm start did not bring the local network up: ${(err as Error).message}\n${output.join("\n")}`,
      {
        cause: err,
      },
    );
  }
}

async function waitForLocalJson(stateDir: string, npm: ProcessGroup): Promise<LocalNetworkInfo> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const info = await readLocalJson(stateDir);
    if (info) return info;
    if (npm.exitStatus) throw new Error(`it exited (${describeExit(npm.exitStatus)})`);
    if (Date.now() > deadline) throw new Error(`no local.json after ${START_TIMEOUT_MS / 1000} s`);
    await sleep(100);
  }
}
