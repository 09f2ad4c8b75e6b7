// Deploys VerifierRegistry and VerityLedger to any EVM chain.
//
//   RPC_URL=... CHAIN_ID=... DEPLOYER_KEY=0x... VERIFIERS=0xA,0xB,0xC THRESHOLD=2 \
//     npm run deploy:contracts -- [--out deployment.json]
//
// Every setting but the key can also be a flag (--rpc-url, --chain-id, --verifiers,
// --threshold, --owner), which wins over the environment. The key is read from the
// environment only, so that it never shows in a process list or shell history.
// Prints { chainId, registry, ledger, deployBlock } as JSON on stdout; progress goes to stderr.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { getAddress, isAddress } from "viem";
import { z } from "zod";
import { VerityError } from "../src/errors.ts";
import { deployVerityContracts } from "./lib/deploy-verity-contracts.ts";

const Address = z
  .string()
  .trim()
  .refine((v) => isAddress(v, { strict: false }), "must be a 0x-prefixed 20-byte address")
  .transform((v) => getAddress(v));

const Config = z.object({
  rpcUrl: z.url({ protocol: /^(https?|wss?)$/ }),
  chainId: z.coerce.number().int().positive(),
  deployerKey: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/, "must be 0x followed by 64 hex digits")
    .transform((v) => v as `0x${string}`),
  verifiers: z
    .string()
    .transform((v) => v.split(",").filter((s) => s.trim() !== ""))
    .pipe(z.array(Address).min(1, "must list at least one address")),
  threshold: z.coerce.number().int().positive(),
  owner: Address.optional(),
  out: z.string().min(1).optional(),
});

const usage = `usage: npm run deploy:contracts -- [--rpc-url URL] [--chain-id N] [--verifiers A,B,...]
       [--threshold T] [--owner ADDRESS] [--out deployment.json]
env: RPC_URL, CHAIN_ID, DEPLOYER_KEY (env only), VERIFIERS, THRESHOLD, OWNER`;

async function main() {
  const { values } = parseArgs({
    options: {
      "rpc-url": { type: "string" },
      "chain-id": { type: "string" },
      verifiers: { type: "string" },
      threshold: { type: "string" },
      owner: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const env = process.env;
  const parsed = Config.safeParse({
    rpcUrl: values["rpc-url"] ?? env.RPC_URL,
    chainId: values["chain-id"] ?? env.CHAIN_ID,
    deployerKey: env.DEPLOYER_KEY,
    verifiers: values.verifiers ?? env.VERIFIERS,
    threshold: values.threshold ?? env.THRESHOLD,
    owner: values.owner ?? (env.OWNER || undefined),
    out: values.out,
  });
  if (!parsed.success) {
    const names: Record<string, string> = {
      rpcUrl: "RPC_URL / --rpc-url",
      chainId: "CHAIN_ID / --chain-id",
      deployerKey: "DEPLOYER_KEY",
      verifiers: "VERIFIERS / --verifiers",
      threshold: "THRESHOLD / --threshold",
      owner: "OWNER / --owner",
    };
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? "");
      return `  ${names[key] ?? key}${issue.path.length > 1 ? `[${issue.path.slice(1).join(".")}]` : ""}: ${issue.message}`;
    });
    process.stderr.write(`invalid settings:\n${problems.join("\n")}\n${usage}\n`);
    process.exit(2);
  }
  const config = parsed.data;
  const started = performance.now();
  const deployment = await deployVerityContracts({
    rpcUrl: config.rpcUrl,
    chainId: config.chainId,
    deployerKey: config.deployerKey,
    verifiers: config.verifiers,
    threshold: config.threshold,
    ...(config.owner ? { owner: config.owner } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const json = `${JSON.stringify(deployment, null, 2)}\n`;
  if (config.out) {
    writeFileSync(path.resolve(config.out), json);
    process.stderr.write(`wrote ${config.out}\n`);
  }
  process.stderr.write(`deployed in ${Math.round(performance.now() - started)} ms\n`);
  process.stdout.write(json);
}

main().catch((error: unknown) => {
  const code = error instanceof VerityError ? ` (${error.code})` : "";
  process.stderr.write(
    `deploy failed${code}: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
