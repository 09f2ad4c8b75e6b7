import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { invalidRequest, type VerityError } from "../../src/errors.ts";
import { withLocalD1 } from "./local-d1.ts";
import { runCommand } from "./run-command.ts";
import { toolFailure } from "./script-error.ts";
import { wranglerSpec } from "./wrangler.ts";

/** The D1 database name in wrangler.toml. */
export const DATABASE_NAME = "verity";

/**
 * Which `verity` database to talk to: the local one `npm start` persists under its state
 * directory, or the deployed one (wrangler's credentials, optionally a wrangler environment).
 */
export type D1Target =
  | { kind: "local"; persistTo: string }
  | { kind: "remote"; env?: string | undefined };

/** The wrangler flags that select `target`. */
export function d1TargetArgs(target: D1Target): string[] {
  if (target.kind === "local") return ["--local", "--persist-to", target.persistTo];
  return ["--remote", ...(target.env ? ["--env", target.env] : [])];
}

export interface D1Options {
  /** Stops the wrangler command when aborted. */
  signal?: AbortSignal | undefined;
}

const StatementResults = z.array(
  z.object({ results: z.array(z.record(z.string(), z.unknown())), success: z.boolean() }),
);
const WranglerJsonError = z.object({ error: z.object({ text: z.string() }) });

/**
 * Runs `statements` (one, or several in one batch, as a transaction) and returns the rows of
 * each. The local database is opened in this process (see local-d1.ts); the remote one through
 * `wrangler d1 execute --remote --json`. Neither takes bound parameters here: build literals with
 * `sqlString` and `sqlInteger` only.
 */
export async function executeD1(
  target: D1Target,
  statements: string | readonly string[],
  options: D1Options = {},
): Promise<Record<string, unknown>[][]> {
  const list = typeof statements === "string" ? [statements] : statements;
  options.signal?.throwIfAborted();
  if (target.kind === "local") return executeLocally(target, list);
  const args = ["d1", "execute", DATABASE_NAME, ...d1TargetArgs(target), "--json", "--yes"];
  const result = await runCommand(
    "wrangler d1 execute",
    wranglerSpec([...args, "--command", list.join(";\n")]),
    { signal: options.signal },
  );
  const json = parseJsonOutput(result.stdout);
  const failure = WranglerJsonError.safeParse(json);
  if (failure.success) throw d1Error(failure.data.error.text, target);
  const results = StatementResults.safeParse(json);
  if (result.exit.code !== 0 || !results.success) {
    const output = [result.stdout, result.stderr].join("\n").trim().split("\n").slice(-20);
    throw toolFailure(
      `wrangler d1 execute failed (exit ${result.exit.code ?? result.exit.signal}):\n  ${output.join("\n  ")}`,
      "d1_failed",
    );
  }
  return results.data.map((statement) => statement.results);
}

const LOCKED_ATTEMPTS = 6;
const isLocked = (err: unknown) =>
  /SQLITE_BUSY|database is locked|session commit token/i.test(
    `${String(err)} ${String((err as { cause?: unknown }).cause ?? "")}`,
  );

async function executeLocally(
  target: Extract<D1Target, { kind: "local" }>,
  statements: readonly string[],
): Promise<Record<string, unknown>[][]> {
  try {
    return await withLocalD1(target.persistTo, async (db) => {
      for (let attempt = 1; ; attempt++) {
        try {
          const results = await db.batch<Record<string, unknown>>(
            statements.map((statement) => db.prepare(statement)),
          );
          return results.map((result) => result.results ?? []);
        } catch (err) {
          // A running `wrangler dev` writes the same file: a batch that met its lock applied
          // nothing (it is one transaction), so it is tried again after a short wait.
          if (attempt >= LOCKED_ATTEMPTS || !isLocked(err)) throw err;
          await sleep(50 * 2 ** attempt);
        }
      }
    });
  } catch (err) {
    // D1 puts SQLite's message in the cause; miniflare's own failures have none.
    const cause = (err as { cause?: unknown }).cause ?? err;
    throw d1Error(cause instanceof Error ? cause.message : String(cause), target);
  }
}

// wrangler may print a blank line or a notice before the JSON document.
function parseJsonOutput(stdout: string): unknown {
  const start = stdout.search(/^[[{]/m);
  if (start < 0) return undefined;
  try {
    return JSON.parse(stdout.slice(start));
  } catch {
    return undefined;
  }
}

function d1Error(text: string, target: D1Target): VerityError {
  const hint =
    target.kind === "local" && /no such table/i.test(text)
      ? " The local database has no tables yet: run `npm start` once (it applies the migrations)."
      : target.kind === "remote" && /not (logged|authenticated)/i.test(text)
        ? " Log in with `wrangler login` or set CLOUDFLARE_API_TOKEN."
        : "";
  return toolFailure(`D1 (${target.kind}) answered: ${text}${hint}`, "d1_error");
}

/** A SQL string literal. Quotes are doubled; NUL, which SQLite would cut the text at, is refused. */
export function sqlString(value: string): string {
  if (value.includes("\0")) throw invalidRequest("Text for the database must not contain NUL.");
  return `'${value.replaceAll("'", "''")}'`;
}

/** A SQL integer literal from a safe integer. */
export function sqlInteger(value: number): string {
  if (!Number.isSafeInteger(value)) throw invalidRequest(`${value} is not a safe integer.`);
  return String(value);
}
