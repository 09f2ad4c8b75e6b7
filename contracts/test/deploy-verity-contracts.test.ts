import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Address, getAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DeployVerityContractsOptions,
  deployVerityContracts,
} from "../../scripts/lib/deploy-verity-contracts.ts";
import { VerityError } from "../../src/errors.ts";
import { verifierRegistryAbi } from "../generated/VerifierRegistry.ts";
import { verityLedgerAbi } from "../generated/VerityLedger.ts";
import { ANVIL_CHAIN_ID, ANVIL_KEY_0, type Anvil, startAnvil } from "./anvil.ts";
import { clients, verifierAccounts } from "./fixtures.ts";

const repoRoot = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const run = promisify(execFile);

let anvil: Anvil;
let outDir: string;
beforeAll(async () => {
  anvil = await startAnvil();
  outDir = mkdtempSync(path.join(tmpdir(), "verity-deploy-"));
});
afterAll(async () => {
  await anvil?.stop();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

const options = (
  changes: Partial<DeployVerityContractsOptions> = {},
): DeployVerityContractsOptions => ({
  rpcUrl: anvil.rpcUrl,
  chainId: ANVIL_CHAIN_ID,
  deployerKey: ANVIL_KEY_0,
  verifiers: verifierAccounts(3).map((v) => v.address),
  threshold: 2,
  pollingIntervalMs: 50,
  ...changes,
});

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected the deployment to fail");
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(VerityError);
      return error as VerityError;
    },
  );

async function deployedState(registry: Address, ledger: Address) {
  const { publicClient } = clients(anvil);
  const readRegistry = <F extends "threshold" | "verifiers" | "owner">(functionName: F) =>
    publicClient.readContract({ address: registry, abi: verifierRegistryAbi, functionName });
  return {
    threshold: await readRegistry("threshold"),
    verifiers: [...(await readRegistry("verifiers"))].sort(),
    owner: await readRegistry("owner"),
    ledgerRegistry: await publicClient.readContract({
      address: ledger,
      abi: verityLedgerAbi,
      functionName: "registry",
    }),
  };
}

describe("deployVerityContracts", () => {
  it("deploys a registry with the verifier set and a ledger bound to it", async () => {
    const opts = options();
    const started = performance.now();
    const deployment = await deployVerityContracts(opts);
    console.log(`deployVerityContracts on anvil: ${(performance.now() - started).toFixed(0)} ms`);

    expect(deployment.chainId).toBe(ANVIL_CHAIN_ID);
    expect(await deployedState(deployment.registry, deployment.ledger)).toEqual({
      threshold: 2n,
      verifiers: [...opts.verifiers].sort(),
      owner: privateKeyToAccount(ANVIL_KEY_0).address,
      ledgerRegistry: deployment.registry,
    });
    const { publicClient } = clients(anvil);
    const code = await publicClient.getCode({
      address: deployment.registry,
      blockNumber: BigInt(deployment.deployBlock),
    });
    expect(code?.length).toBeGreaterThan(2);
    const before = await publicClient.getCode({
      address: deployment.registry,
      blockNumber: BigInt(deployment.deployBlock - 1),
    });
    expect(before).toBeUndefined();
  });

  it("hands the registry to the given owner", async () => {
    const owner = privateKeyToAccount(generatePrivateKey()).address;
    const deployment = await deployVerityContracts(options({ owner }));
    expect((await deployedState(deployment.registry, deployment.ledger)).owner).toBe(owner);
  });

  it("sends nothing to a chain whose id is not the expected one", async () => {
    const { publicClient } = clients(anvil);
    const deployer = privateKeyToAccount(ANVIL_KEY_0).address;
    const nonce = await publicClient.getTransactionCount({ address: deployer });
    const error = await failure(deployVerityContracts(options({ chainId: 1 })));
    expect(error).toMatchObject({ status: 400, code: "chain_id_mismatch" });
    expect(error.message).toContain("serves chain 31337, not the expected 1");
    expect(await publicClient.getTransactionCount({ address: deployer })).toBe(nonce);
  });

  it("says the RPC is unreachable when nothing answers", async () => {
    const closed = await startAnvil();
    await closed.stop();
    const error = await failure(deployVerityContracts(options({ rpcUrl: closed.rpcUrl })));
    expect(error).toMatchObject({ status: 503, code: "rpc_unreachable" });
    expect(error.message).toContain(closed.rpcUrl);
  });

  it("refuses an unfunded deployer before sending, with what it holds and needs", async () => {
    const key = generatePrivateKey();
    const error = await failure(deployVerityContracts(options({ deployerKey: key })));
    expect(error).toMatchObject({ status: 400, code: "deployer_unfunded" });
    expect(error.message).toContain(`deployer ${privateKeyToAccount(key).address} holds 0 ETH`);
  });

  it.each([
    ["no verifiers", { verifiers: [] }, "no_verifiers"],
    ["a threshold above the verifier count", { threshold: 4 }, "invalid_threshold"],
    ["a threshold of 0", { threshold: 0 }, "invalid_threshold"],
    [
      "a verifier listed twice",
      {
        verifiers: [
          "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
          "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
        ],
      },
      "duplicate_verifier",
    ],
    [
      "the zero address as verifier",
      { verifiers: ["0x0000000000000000000000000000000000000000"], threshold: 1 },
      "invalid_verifier",
    ],
    ["a malformed deployer key", { deployerKey: "0x1234" }, "invalid_key"],
  ] as [string, Partial<DeployVerityContractsOptions>, string][])(
    "refuses %s without contacting the RPC",
    async (_name, changes, code) => {
      // Nothing listens on port 9 (discard): a contacted RPC would fail as rpc_unreachable.
      const error = await failure(
        deployVerityContracts(options({ rpcUrl: "http://127.0.0.1:9", ...changes })),
      );
      expect(error).toMatchObject({ status: 400, code });
    },
  );
});

describe("npm run deploy:contracts (scripts/deploy-contracts.ts)", () => {
  const tsx = path.join(repoRoot, "node_modules", ".bin", "tsx");
  const script = path.join(repoRoot, "scripts", "deploy-contracts.ts");
  const env = (changes: Record<string, string>) => ({
    PATH: process.env.PATH ?? "",
    RPC_URL: anvil.rpcUrl,
    CHAIN_ID: String(ANVIL_CHAIN_ID),
    DEPLOYER_KEY: ANVIL_KEY_0,
    VERIFIERS: verifierAccounts(3)
      .map((v) => v.address)
      .join(","),
    THRESHOLD: "2",
    ...changes,
  });

  it("deploys from the environment, prints the deployment and writes --out", async () => {
    const out = path.join(outDir, "deployment.json");
    const verifiers = verifierAccounts(4).map((v) => v.address);
    const started = performance.now();
    const { stdout, stderr } = await run(tsx, [script, "--out", out, "--threshold", "3"], {
      cwd: repoRoot,
      env: env({ VERIFIERS: ` ${verifiers.join(" , ")} `, THRESHOLD: "1" }),
    });
    console.log(
      `deploy:contracts CLI on anvil (tsx start-up included): ${(performance.now() - started).toFixed(0)} ms`,
    );
    const printed = JSON.parse(stdout);
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual(printed);
    expect(Object.keys(printed).sort()).toEqual(["chainId", "deployBlock", "ledger", "registry"]);
    expect(printed.chainId).toBe(ANVIL_CHAIN_ID);
    expect(stderr).toContain("VerityLedger: sent 0x");
    const state = await deployedState(getAddress(printed.registry), getAddress(printed.ledger));
    // --threshold wins over THRESHOLD.
    expect(state.threshold).toBe(3n);
    expect(state.verifiers).toEqual([...verifiers].sort());
  });

  it("exits 2 naming every missing or malformed setting", async () => {
    const error = await run(tsx, [script], {
      cwd: repoRoot,
      env: env({ RPC_URL: "not a url", DEPLOYER_KEY: "", VERIFIERS: "0x1234" }),
    }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(error?.code).toBe(2);
    expect(error?.stderr).toContain("RPC_URL / --rpc-url");
    expect(error?.stderr).toContain("DEPLOYER_KEY");
    expect(error?.stderr).toContain("VERIFIERS / --verifiers[0]");
    expect(error?.stderr).not.toContain(ANVIL_KEY_0);
  });

  it("exits 1 with the reason when the chain id is wrong", async () => {
    const error = await run(tsx, [script, "--chain-id", "10"], {
      cwd: repoRoot,
      env: env({}),
    }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(error?.code).toBe(1);
    expect(error?.stderr).toContain("deploy failed (chain_id_mismatch)");
  });
});
