import { randomBytes } from "node:crypto";
import { chmod, mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { repoRoot } from "./paths.ts";

/** Where `npm start` keeps its state unless told otherwise. */
export const DEFAULT_STATE_DIR = path.join(repoRoot, ".verity");

/**
 * The state directory: `--state-dir`, else `VERITY_STATE_DIR`, else `.verity/` in the repo. A
 * relative path is taken from where the user ran npm (`INIT_CWD`), not from the repo root.
 */
export function resolveStateDir(flag?: string): string {
  const chosen = flag ?? process.env.VERITY_STATE_DIR;
  if (!chosen) return DEFAULT_STATE_DIR;
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), chosen);
}

/** The D1 and Durable Object files of `wrangler dev --persist-to`. */
export const wranglerPersistDir = (stateDir: string) => path.join(stateDir, "wrangler");

/** Creates `dir` (and parents) readable by the owner only. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/**
 * Writes `content` to `file` with mode 0600, atomically: readers see the old file or the new
 * one, never half of one.
 */
export async function writePrivateFile(file: string, content: string): Promise<void> {
  const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(temp, content, { mode: 0o600 });
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
