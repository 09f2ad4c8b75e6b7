import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { repoRoot } from "./paths.ts";
import { runCommand } from "./run-command.ts";

/** Where passed checks are remembered: under node_modules, so a fresh install starts empty. */
export const checkCachePath = path.join(
  repoRoot,
  "node_modules",
  ".cache",
  "verity",
  "checks.json",
);

const Stamps = z.record(z.string(), z.string());

/**
 * A fingerprint of everything a check reads: the tracked and untracked (not ignored) files under
 * `inputs`, by path and content. Any edit, added or removed file changes it. Outside a git
 * checkout (a downloaded archive), every file under `inputs` counts.
 */
export async function fingerprint(inputs: readonly string[]): Promise<string> {
  const files = [...new Set((await gitFiles(inputs)) ?? (await walkFiles(inputs)))].sort();
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(`${file}\0`);
    // A file git lists but the tree no longer has (deleted, not yet staged) counts as empty.
    hash.update(await readFile(path.join(repoRoot, file)).catch(() => Buffer.alloc(0)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

async function gitFiles(inputs: readonly string[]): Promise<string[] | null> {
  try {
    const { stdout, exit } = await runCommand("git ls-files", {
      command: "git",
      args: ["ls-files", "--cached", "--others", "--exclude-standard", "--", ...inputs],
      cwd: repoRoot,
    });
    return exit.code === 0 ? stdout.split("\n").filter(Boolean) : null;
  } catch {
    return null;
  }
}

const UNTRACKED = new Set(["node_modules", ".git", ".wrangler", ".verity", "dist"]);

async function walkFiles(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  // Entries by type, not by trying to read them: a symlink (which could loop) and anything that
  // is neither a file nor a directory are left out, as git would not follow them either.
  const visit = async (relative: string): Promise<void> => {
    const entries = await readdir(path.join(repoRoot, relative), { withFileTypes: true });
    for (const entry of entries) {
      if (UNTRACKED.has(entry.name)) continue;
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) await visit(child);
      else if (entry.isFile()) files.push(child);
    }
  };
  for (const input of inputs) {
    const info = await lstat(path.join(repoRoot, input)).catch(() => null);
    if (info?.isDirectory()) await visit(input);
    else if (info?.isFile()) files.push(input);
  }
  return files;
}

async function readStamps(): Promise<Record<string, string>> {
  try {
    return Stamps.parse(JSON.parse(await readFile(checkCachePath, "utf8")));
  } catch {
    return {};
  }
}

/**
 * Whether check `name` already passed on exactly these inputs. Only a pass is remembered, so a
 * failing check always runs again.
 */
export async function passedBefore(name: string, stamp: string): Promise<boolean> {
  return (await readStamps())[name] === stamp;
}

/** Remembers that the checks named in `passes` passed on inputs with these fingerprints. */
export async function rememberPasses(passes: Record<string, string>): Promise<void> {
  const stamps = { ...(await readStamps()), ...passes };
  await mkdir(path.dirname(checkCachePath), { recursive: true });
  await writeFile(checkCachePath, `${JSON.stringify(stamps, null, 2)}\n`);
}
