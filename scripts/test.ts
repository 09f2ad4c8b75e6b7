// `npm test`: every test suite in one vitest run, and the static checks side by side with it
// (each prints one line at the end, and its output only if it fails); last, the total time
// against the budget.
//   npm test                      everything
//   npm test -- --project gateway one vitest project (with the checks); any vitest flag works
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { styleText } from "node:util";
import { fingerprint, passedBefore, rememberPasses } from "./lib/check-cache.ts";
import { binDir, nodeCompileCacheDir, pinnedPath, repoRoot } from "./lib/paths.ts";
import { runCommand } from "./lib/run-command.ts";

// Every process below (checks, vitest, the wrangler and anvil they start) inherits it.
process.env.NODE_COMPILE_CACHE ??= nodeCompileCacheDir;

/** What the README promises for the whole of `npm test` on a 2-core machine. */
const BUDGET_S = 240;
/** Past this the run fails: something made the suite far slower, not a busy machine. */
const HARD_LIMIT_S = 2 * BUDGET_S;

interface Check {
  name: string;
  command: string;
  args: string[];
  /** Files whose contents decide the outcome: with them unchanged, a pass is not redone. */
  cacheInputs?: string[];
}

const npmRun = (script: string) => ({ command: "npm", args: ["run", "-s", script] });

const CHECKS: Check[] = [
  { name: "wrangler types --check", ...npmRun("types:check") },
  // The three projects side by side (npm run typecheck runs them one after another): each is
  // single-threaded, and alone the last would leave a core idle at the end of the checks.
  ...["tsconfig.json", "scripts", "contracts"].map((project) => ({
    name: `tsc -p ${project}`,
    command: path.join(binDir, "tsc"),
    args: ["-p", project, "--singleThreaded"],
  })),
  { name: "biome", ...npmRun("lint") },
  {
    name: "reference model is up to date",
    ...npmRun("check:model"),
    cacheInputs: [
      "src/backends/reference",
      "scripts/build-reference-model.ts",
      "package-lock.json",
    ],
  },
  {
    name: "keccak module is up to date",
    ...npmRun("check:keccak"),
    cacheInputs: [
      "packages/protocol/src/keccak",
      "scripts/build-keccak-wasm.ts",
      "package-lock.json",
    ],
  },
  {
    name: "contract modules are up to date",
    ...npmRun("check:contracts"),
    cacheInputs: ["contracts", "scripts/build-contracts.ts", "package-lock.json"],
  },
  { name: "bundle sizes", ...npmRun("check:size") },
];

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function runCheck(check: Check): Promise<{ ok: boolean; line: string; pass?: string }> {
  const started = performance.now();
  const stamp = check.cacheInputs ? await fingerprint(check.cacheInputs) : undefined;
  if (stamp && (await passedBefore(check.name, stamp))) {
    return { ok: true, line: `  ✓ ${check.name} (unchanged since it last passed)` };
  }
  const { exit, stdout, stderr } = await runCommand(check.name, {
    command: check.command,
    args: check.args,
    cwd: repoRoot,
    env: { ...process.env, PATH: pinnedPath() },
  });
  const took = seconds(performance.now() - started);
  if (exit.code === 0) return { ok: true, line: `  ✓ ${check.name} (${took})`, pass: stamp };
  const output = [stdout, stderr].filter((s) => s.trim() !== "").join("\n");
  return { ok: false, line: `  ✗ ${check.name} (${took})\n${output}` };
}

async function main(): Promise<number> {
  const started = performance.now();
  // The checks run beside the tests rather than before them: the suite keeps both cores busy
  // only most of the time, and the checks fill the gaps (its start-up, its last long files).
  // vitest shares this terminal and process group: Ctrl-C reaches it, and its colours stay.
  const vitest = spawn(`${binDir}/vitest`, ["run", ...process.argv.slice(2)], {
    cwd: repoRoot,
    env: { ...process.env, PATH: pinnedPath() },
    stdio: "inherit",
  });
  const vitestExit = once(vitest, "exit") as Promise<[number | null]>;
  const results = await Promise.all(
    CHECKS.map(async (check) => ({ check, result: await runCheck(check) })),
  );
  const checksMs = performance.now() - started;
  const passes = Object.fromEntries(
    results.flatMap(({ check, result }) => (result.pass ? [[check.name, result.pass]] : [])),
  );
  await rememberPasses(passes);
  const [code] = await vitestExit;

  console.log(`\nStatic checks (beside the tests, ${seconds(checksMs)}):`);
  for (const { result } of results) console.log(result.line);
  const totalMs = performance.now() - started;
  const total = totalMs / 1000;
  const summary = `npm test: ${seconds(totalMs)} in all (static checks ${seconds(checksMs)}, beside the tests); the budget is ${BUDGET_S} s`;
  if (results.some(({ result }) => !result.ok)) {
    console.log(styleText("red", `npm test: static checks failed (${seconds(totalMs)} in all)`));
    return 1;
  }
  if (total > HARD_LIMIT_S) {
    console.log(
      styleText(
        "red",
        `${summary}: more than twice over it, so this run fails. See README, Tests.`,
      ),
    );
    return 1;
  }
  console.log(total > BUDGET_S ? styleText("yellow", `${summary}: over it.`) : summary);
  return code ?? 1;
}

process.exitCode = await main();
