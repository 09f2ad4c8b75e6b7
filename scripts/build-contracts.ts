// Compiles contracts/*.sol with solc-js into typed modules for viem:
// contracts/generated/<Name>.ts exporting `<name>Abi` and `<name>Bytecode`.
//
//   npm run build:contracts            write the modules
//   npm run build:contracts -- --check exit 1 when the committed modules are stale
//
// The output is a pure function of the sources, the OpenZeppelin sources and the solc version
// (the version is in each module's header), so a stale module is a real difference.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import solc from "solc";
import { z } from "zod";
import { VerityError } from "../src/errors.ts";

const repoRoot = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const contractsDir = path.join(repoRoot, "contracts");
const generatedDir = path.join(contractsDir, "generated");
const require = createRequire(import.meta.url);

/** The contracts that get a module; every other compiled contract is a dependency. */
export const CONTRACTS = ["VerifierRegistry", "VerityLedger"] as const;
export type ContractName = (typeof CONTRACTS)[number];

/**
 * Cancun, not solc's newer default: every chain we may settle on (mainnet, the large L2s)
 * and anvil run it, and OpenZeppelin 5 needs no later opcode.
 */
export const EVM_VERSION = "cancun";
/** settleBatch runs once per batch for the life of the ledger; deployment runs once. */
export const OPTIMIZER_RUNS = 10_000;

const CompilerError = z.object({
  severity: z.enum(["error", "warning", "info"]),
  formattedMessage: z.string(),
  sourceLocation: z.object({ file: z.string() }).optional(),
});
const CompiledContract = z.object({
  abi: z.array(z.record(z.string(), z.unknown())),
  evm: z.object({ bytecode: z.object({ object: z.string().regex(/^[0-9a-f]+$/) }) }),
});
const CompilerOutput = z.object({
  errors: z.array(CompilerError).optional(),
  contracts: z.record(z.string(), z.record(z.string(), CompiledContract)).optional(),
});

export interface CompiledModule {
  name: ContractName;
  /** Path relative to the repository root. */
  file: string;
  source: string;
}

const buildFailure = (message: string, code: string, details?: Record<string, unknown>) =>
  new VerityError(message, {
    status: 400,
    type: "invalid_request_error",
    code,
    ...(details ? { details } : {}),
  });

// Source unit names are repository-relative, never absolute: they are hashed into the
// bytecode's metadata, which must not depend on where the repository is checked out.
function readSources(): Record<string, { content: string }> {
  const sources: Record<string, { content: string }> = {};
  for (const file of readdirSync(contractsDir).sort()) {
    if (file.endsWith(".sol")) {
      sources[`contracts/${file}`] = {
        content: readFileSync(path.join(contractsDir, file), "utf8"),
      };
    }
  }
  return sources;
}

function findImport(importPath: string): { contents: string } | { error: string } {
  if (!importPath.startsWith("@openzeppelin/contracts/") || importPath.includes("..")) {
    return {
      error: `only @openzeppelin/contracts/... is resolved from node_modules: ${importPath}`,
    };
  }
  try {
    return { contents: readFileSync(require.resolve(importPath), "utf8") };
  } catch (cause) {
    return { error: `cannot read ${importPath} from node_modules: ${String(cause)}` };
  }
}

function formatWithBiome(file: string, source: string): string {
  const biome = path.join(repoRoot, "node_modules", ".bin", "biome");
  const result = spawnSync(biome, ["format", `--stdin-file-path=${file}`], {
    cwd: repoRoot,
    input: source,
    encoding: "utf8",
  });
  if (result.status !== 0) {
    throw buildFailure(`biome could not format ${file}: ${result.stderr}`, "format_failed");
  }
  return result.stdout;
}

const lowerFirst = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

/** Compiles the contracts and renders their modules (formatted as biome would). */
export function compileContracts(): CompiledModule[] {
  const sources = readSources();
  const selection = ["abi", "evm.bytecode.object"];
  const input = {
    language: "Solidity",
    sources,
    settings: {
      evmVersion: EVM_VERSION,
      optimizer: { enabled: true, runs: OPTIMIZER_RUNS },
      outputSelection: Object.fromEntries(
        CONTRACTS.map((name) => [`contracts/${name}.sol`, { [name]: selection }]),
      ),
    },
  };
  const raw: unknown = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
  const output = CompilerOutput.parse(raw);
  const errors = output.errors ?? [];
  // OpenZeppelin's own warnings (newer solc deprecations) are theirs to fix, not ours.
  const ours = (e: z.infer<typeof CompilerError>) =>
    !e.sourceLocation?.file.startsWith("@openzeppelin/");
  for (const warning of errors.filter((e) => e.severity !== "error" && ours(e))) {
    process.stderr.write(`${warning.formattedMessage}\n`);
  }
  const fatal = errors.filter((e) => e.severity === "error");
  if (fatal.length > 0) {
    throw buildFailure(
      `solc failed:\n${fatal.map((e) => e.formattedMessage).join("\n")}`,
      "compile_failed",
    );
  }

  const version: string = solc.version();
  return CONTRACTS.map((name) => {
    const compiled = output.contracts?.[`contracts/${name}.sol`]?.[name];
    if (!compiled) throw buildFailure(`solc produced no ${name}`, "compile_failed");
    const id = lowerFirst(name);
    const file = `contracts/generated/${name}.ts`;
    const source = [
      "// Generated by scripts/build-contracts.ts (`npm run build:contracts`): do not edit.",
      `// contracts/${name}.sol, solc ${version}, optimizer ${OPTIMIZER_RUNS} runs, evmVersion ${EVM_VERSION}.`,
      "",
      `export const ${id}Abi = ${JSON.stringify(compiled.abi)} as const;`,
      "",
      `export const ${id}Bytecode = "0x${compiled.evm.bytecode.object}" as const;`,
      "",
    ].join("\n");
    return { name, file, source: formatWithBiome(file, source) };
  });
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(path.join(repoRoot, file), "utf8");
  } catch {
    return "";
  }
}

function main() {
  const { values } = parseArgs({ options: { check: { type: "boolean", default: false } } });
  const modules = compileContracts();
  if (values.check) {
    const stale = modules.filter((m) => readOrEmpty(m.file) !== m.source).map((m) => m.file);
    if (stale.length > 0) {
      process.stderr.write(
        `stale: ${stale.join(", ")}: run \`npm run build:contracts\` and commit the result\n`,
      );
      process.exit(1);
    }
    process.stdout.write(`up to date: ${modules.map((m) => m.file).join(", ")}\n`);
    return;
  }
  mkdirSync(generatedDir, { recursive: true });
  for (const m of modules) {
    writeFileSync(path.join(repoRoot, m.file), m.source);
    process.stdout.write(`wrote ${m.file}\n`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
