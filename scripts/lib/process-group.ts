import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { toolFailure } from "./script-error.ts";

export interface ProcessSpec {
  command: string;
  args: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type OutputStream = "stdout" | "stderr";

export interface ProcessGroupOptions {
  /** Every line the process prints, as it arrives. */
  onLine?: (line: string, stream: OutputStream) => void;
  /** How many of the last lines to keep for error messages. */
  tailLines?: number;
}

const live = new Set<ProcessGroup>();

// A last resort for a parent that exits without stopping its children (an uncaught error,
// process.exit in a signal handler): nothing async runs then, so kill outright.
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const group of live) group.signal("SIGKILL");
  });
}

/**
 * A child process in a process group of its own. Signalling the group reaches everything the
 * child started too: `wrangler dev` runs workerd as grandchildren, and they outlive a wrangler
 * that is killed alone.
 */
export class ProcessGroup {
  readonly name: string;
  /** The child's pid, which is also its process group id. */
  readonly pid: number;
  /** Resolves when the child itself exits (its group may take a moment longer). */
  readonly exited: Promise<ProcessExit>;
  private readonly tail: string[] = [];
  private exit: ProcessExit | undefined;

  private constructor(
    name: string,
    child: ChildProcess,
    pid: number,
    options: ProcessGroupOptions,
  ) {
    this.name = name;
    this.pid = pid;
    const keep = options.tailLines ?? 60;
    const streams = [
      [child.stdout, "stdout"],
      [child.stderr, "stderr"],
    ] as const;
    const closed = streams.map(([stream, label]) => {
      if (!stream) return Promise.resolve();
      const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
      lines.on("line", (line) => {
        this.tail.push(line);
        if (this.tail.length > keep) this.tail.shift();
        options.onLine?.(line, label);
      });
      return once(lines, "close").then(() => undefined);
    });
    this.exited = new Promise<ProcessExit>((resolve) => {
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        // Let the last lines through before anyone reports the exit.
        void Promise.race([Promise.all(closed), sleep(500)]).then(() => resolve({ code, signal }));
      });
    });
    live.add(this);
    void this.exited.then(() => {
      if (!this.isAlive()) live.delete(this);
    });
  }

  /** Starts `spec` in a new process group; rejects if it cannot be started at all (ENOENT...). */
  static async start(
    name: string,
    spec: ProcessSpec,
    options: ProcessGroupOptions = {},
  ): Promise<ProcessGroup> {
    installExitHook();
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    // (events.once would reject on "error" itself, losing the message below.)
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (err) =>
        reject(
          toolFailure(
            `Could not start ${name} (${spec.command}): ${err.message}. Did \`npm install\` run?`,
            "process_not_started",
            { cause: err },
          ),
        ),
      );
    });
    if (child.pid === undefined) {
      throw toolFailure(`Could not start ${name} (${spec.command}).`, "process_not_started");
    }
    return new ProcessGroup(name, child, child.pid, options);
  }

  /** The last lines the process printed, oldest first. */
  lastLines(): string[] {
    return [...this.tail];
  }

  /** How the child exited, once it has. */
  get exitStatus(): ProcessExit | undefined {
    return this.exit;
  }

  /** True while any process of the group is still around. */
  isAlive(): boolean {
    return isGroupAlive(this.pid);
  }

  /** Sends `sig` to the whole group; false if the group is gone. */
  signal(sig: NodeJS.Signals): boolean {
    return signalGroup(this.pid, sig);
  }

  /**
   * Stops the whole group: SIGTERM, then SIGKILL after `graceMs`. Resolves once no process of
   * the group is left, or after a bounded wait for a group that will not die.
   */
  async stop(graceMs = 8_000): Promise<void> {
    await stopGroup(this.pid, graceMs);
    live.delete(this);
  }
}

/**
 * True while any process in process group `pgid` is running. Zombies do not count: the
 * grandchildren of a stopped group are reparented to init, which may take seconds to reap them.
 */
export function isGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  return process.platform !== "linux" || hasLiveMember(pgid);
}

// /proc/<pid>/stat: "pid (comm) state ppid pgrp ...", where comm may contain spaces and parens.
function hasLiveMember(pgid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return true;
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === pgid && state !== "Z" && state !== "X") return true;
  }
  return false;
}

function signalGroup(pgid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isGroupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** SIGTERM to group `pgid`, SIGKILL after `graceMs`; resolves when the group is gone. */
export async function stopGroup(pgid: number, graceMs = 8_000): Promise<void> {
  if (!signalGroup(pgid, "SIGTERM")) return;
  if (await waitForGroupExit(pgid, graceMs)) return;
  signalGroup(pgid, "SIGKILL");
  await waitForGroupExit(pgid, 5_000);
}
