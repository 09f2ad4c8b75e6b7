import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { isGroupAlive, ProcessGroup } from "./process-group.ts";
import { RunLock, runRecordPath, stopRecordedGroups } from "./run-lock.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "verity-lock-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

it("refuses a second network on a state directory whose holder is alive", async () => {
  // This test process is alive, so a record naming another live pid (our parent) holds.
  await writeFile(runRecordPath(dir), JSON.stringify({ pid: process.ppid, groups: [] }));
  await expect(RunLock.acquire(dir)).rejects.toMatchObject({
    status: 409,
    code: "state_dir_in_use",
  });
});

it("stops what a crashed run left, but only processes of that state directory", async () => {
  // Its command line names the state directory, like everything npm start runs.
  const leftover = await ProcessGroup.start("leftover", {
    command: "sh",
    args: ["-c", `sleep 60 & wait # ${dir}`],
  });
  const stranger = await ProcessGroup.start("stranger", {
    command: "sh",
    args: ["-c", "sleep 60 & wait"],
  });
  try {
    // A dead holder (pid 2^22 - 1 is above Linux's default pid_max) and its groups.
    await writeFile(
      runRecordPath(dir),
      JSON.stringify({
        pid: 4_194_303,
        groups: [
          { name: "gateway", pgid: leftover.pid },
          { name: "other", pgid: stranger.pid },
        ],
      }),
    );
    const { lock, cleanedUp } = await RunLock.acquire(dir);
    expect(cleanedUp).toEqual([`gateway (pgid ${leftover.pid})`]);
    expect(isGroupAlive(leftover.pid)).toBe(false);
    expect(isGroupAlive(stranger.pid)).toBe(true);
    await lock.release();
    expect(await stopRecordedGroups(dir)).toEqual([]);
  } finally {
    await leftover.stop(1_000);
    await stranger.stop(1_000);
  }
});
