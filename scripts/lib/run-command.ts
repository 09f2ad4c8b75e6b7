import { type ProcessExit, ProcessGroup, type ProcessSpec } from "./process-group.ts";
import { toolFailure } from "./script-error.ts";

export interface CommandResult {
  stdout: string;
  stderr: string;
  exit: ProcessExit;
}

export interface RunCommandOptions {
  /** Stops the command (its whole process group) when aborted. */
  signal?: AbortSignal;
  /** Called with each process group as it starts, so a supervisor can track it. */
  onStart?: (group: ProcessGroup) => void;
}

/**
 * Runs a short-lived command in its own process group and collects its output. Resolves
 * whatever the exit code: callers judge it (wrangler's `--json` errors exit 1 with JSON).
 */
export async function runCommand(
  name: string,
  spec: ProcessSpec,
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  options.signal?.throwIfAborted();
  const stdout: string[] = [];
  const stderr: string[] = [];
  const group = await ProcessGroup.start(name, spec, {
    onLine: (line, stream) => (stream === "stdout" ? stdout : stderr).push(line),
  });
  options.onStart?.(group);
  const abort = () => void group.stop(2_000);
  options.signal?.addEventListener("abort", abort, { once: true });
  try {
    const exit = await group.exited;
    // workerd started by a one-off wrangler command must not outlive it.
    if (group.isAlive()) await group.stop(2_000);
    options.signal?.throwIfAborted();
    return { stdout: stdout.join("\n"), stderr: stderr.join("\n"), exit };
  } finally {
    options.signal?.removeEventListener("abort", abort);
  }
}

/** Like `runCommand`, but a non-zero exit is an error that carries the command's last output. */
export async function runCommandOrFail(
  name: string,
  spec: ProcessSpec,
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const result = await runCommand(name, spec, options);
  if (result.exit.code !== 0) {
    throw toolFailure(
      `${name} failed (${describeExit(result.exit)}):\n${lastLines(result, 30)}`,
      "command_failed",
      { details: { command: spec.command, args: spec.args } },
    );
  }
  return result;
}

/** "exit code 1" or "signal SIGKILL". */
export const describeExit = (exit: ProcessExit) =>
  exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;

const lastLines = (result: CommandResult, count: number) =>
  [result.stdout, result.stderr]
    .join("\n")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .slice(-count)
    .map((line) => `  ${line}`)
    .join("\n");
