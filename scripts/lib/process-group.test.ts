import { describe, expect, it } from "vitest";
import { VerityError } from "../../src/errors.ts";
import { isGroupAlive, ProcessGroup } from "./process-group.ts";

// A parent that starts two grandchildren and waits: what wrangler dev does with workerd.
const parentWithGrandchildren = {
  command: "sh",
  args: ["-c", 'sleep 60 & sleep 60 & echo "started"; wait'],
};

describe("ProcessGroup", () => {
  it("stops the grandchildren too: nothing of the group is left", async () => {
    const group = await ProcessGroup.start("sleepers", parentWithGrandchildren);
    await expect.poll(() => group.lastLines()).toContain("started");
    expect(group.isAlive()).toBe(true);
    await group.stop(2_000);
    expect(isGroupAlive(group.pid)).toBe(false);
    expect((await group.exited).signal).toBe("SIGTERM");
  });

  it("kills a group that ignores SIGTERM once the grace period is over", async () => {
    const group = await ProcessGroup.start("stubborn", {
      command: "sh",
      args: ["-c", 'trap "" TERM; echo ready; while :; do sleep 0.1; done'],
    });
    await expect.poll(() => group.lastLines()).toContain("ready");
    const started = Date.now();
    await group.stop(300);
    expect(isGroupAlive(group.pid)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it("reports each output line with its stream and keeps the exit status", async () => {
    const lines: string[] = [];
    const group = await ProcessGroup.start(
      "talker",
      { command: "sh", args: ["-c", "echo out; echo err >&2; exit 3"] },
      { onLine: (line, stream) => lines.push(`${stream}:${line}`) },
    );
    expect(await group.exited).toEqual({ code: 3, signal: null });
    expect(lines.sort()).toEqual(["stderr:err", "stdout:out"]);
    expect(group.exitStatus).toEqual({ code: 3, signal: null });
  });

  it("keeps only the last lines for error messages", async () => {
    const group = await ProcessGroup.start(
      "counter",
      { command: "sh", args: ["-c", "for i in 1 2 3 4 5; do echo $i; done"] },
      { tailLines: 2 },
    );
    await group.exited;
    expect(group.lastLines()).toEqual(["4", "5"]);
  });

  it("fails with a VerityError naming the command when it cannot start", async () => {
    const start = ProcessGroup.start("ghost", { command: "/nonexistent/verity-ghost", args: [] });
    await expect(start).rejects.toBeInstanceOf(VerityError);
    await expect(start).rejects.toThrow(/ghost.*verity-ghost/);
  });
});
