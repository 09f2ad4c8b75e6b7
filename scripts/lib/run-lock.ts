import { execFile } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { z } from "zod";
import { isGroupAlive, stopGroup } from "./process-group.ts";
import { conflict } from "./script-error.ts";
import { writePrivateFile } from "./state-dir.ts";

const RunRecord = z.object({
  pid: z.number().int().positive(),
  groups: z.array(z.object({ name: z.string(), pgid: z.number().int().positive() })),
});
type RunRecord = z.infer<typeof RunRecord>;

export const runRecordPath = (stateDir: string) => path.join(stateDir, "run.json");

async function readRunRecord(stateDir: string): Promise<RunRecord | undefined> {
  try {
    return RunRecord.parse(JSON.parse(await readFile(runRecordPath(stateDir), "utf8")));
  } catch {
    return undefined;
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

// Before killing a group left by a crashed run, make sure its pid was not reused by something
// else: every process this harness starts has the state directory in its command line.
async function commandLineOf(pid: number): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)("ps", ["-o", "args=", "-p", String(pid)]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stops the process groups a run of `stateDir` recorded, if they are still there: what is left
 * when `npm start` itself was killed with no chance to clean up.
 */
export async function stopRecordedGroups(stateDir: string, graceMs = 5_000): Promise<string[]> {
  const record = await readRunRecord(stateDir);
  if (!record) return [];
  const stopped: string[] = [];
  for (const { name, pgid } of record.groups) {
    if (!isGroupAlive(pgid)) continue;
    const args = await commandLineOf(pgid);
    if (args !== undefined && !args.includes(stateDir)) continue;
    await stopGroup(pgid, graceMs);
    stopped.push(`${name} (pgid ${pgid})`);
  }
  return stopped;
}

/**
 * The lock a running network holds on its state directory: one `npm start` per directory (two
 * workerd processes on one D1 file would corrupt it). It also records the process groups of
 * the run, so that a later start, or a test harness, can clean up after a run that crashed.
 */
export class RunLock {
  private readonly record: RunRecord;
  private readonly stateDir: string;
  // Services start side by side: saves are chained, so that a slower write of an older record
  // never lands after a newer one.
  private saved: Promise<void> = Promise.resolve();

  private constructor(stateDir: string) {
    this.stateDir = stateDir;
    this.record = { pid: process.pid, groups: [] };
  }

  /** Takes the lock, clearing what a crashed earlier run left; fails if a live run holds it. */
  static async acquire(stateDir: string): Promise<{ lock: RunLock; cleanedUp: string[] }> {
    const previous = await readRunRecord(stateDir);
    if (previous && isProcessAlive(previous.pid)) {
      throw conflict(
        `A local network is already running on ${stateDir} (pid ${previous.pid}). Stop it first, or pass --state-dir.`,
        "state_dir_in_use",
      );
    }
    const cleanedUp = await stopRecordedGroups(stateDir);
    const lock = new RunLock(stateDir);
    await lock.save();
    return { lock, cleanedUp };
  }

  /** Records a process group of this run. */
  async add(name: string, pgid: number): Promise<void> {
    this.record.groups.push({ name, pgid });
    await this.save();
  }

  async release(): Promise<void> {
    await this.saved.catch(() => {});
    await rm(runRecordPath(this.stateDir), { force: true });
  }

  private save(): Promise<void> {
    const content = `${JSON.stringify(this.record)}\n`;
    const write = () => writePrivateFile(runRecordPath(this.stateDir), content);
    this.saved = this.saved.then(write, write);
    return this.saved;
  }
}
