import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Address,
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  type Hex,
  http,
  parseEther,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { z } from "zod";
import { deployVerityContracts } from "./deploy-verity-contracts.ts";
import { settlerAddress } from "./dev-secrets.ts";
import { repoRoot } from "./paths.ts";
import { toolFailure } from "./script-error.ts";
import type { Service, ServiceContext } from "./service.ts";
import { writePrivateFile } from "./state-dir.ts";

/** The local chain's id: anvil's default, and what the settler and verifiers are told. */
export const LOCAL_CHAIN_ID = 31337;
/** The name of the local chain's service, which the gateway and the verifiers wait for. */
export const CHAIN_SERVICE = "anvil";

// anvil's well-known dev accounts (test mnemonic): #0 deploys and owns the registry, #1 pays
// the settler's gas money, so that the deployer's nonces are the deployer's alone.
const DEPLOYER_KEY: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const FAUCET_KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
// Enough for thousands of local batches; topped up whenever the balance falls below the floor.
const SETTLER_FUNDING = parseEther("100");
const SETTLER_FLOOR = parseEther("10");

export interface ChainServiceOptions {
  host: string;
  port: number;
  /** The verifier addresses to register on-chain, in order. */
  verifiers: readonly Address[];
  /** Co-signatures a batch needs (the registry's threshold). */
  threshold: number;
  /** Seconds between blocks (default 1): without blocks, the last batch never confirms. */
  blockTimeSeconds?: number;
}

// What was deployed, kept in the state directory beside anvil's own state, so that a restart
// reuses the contracts it finds at these addresses instead of deploying new ones.
const Deployment = z.object({
  chainId: z.number().int(),
  registry: z.string().transform((value) => getAddress(value)),
  ledger: z.string().transform((value) => getAddress(value)),
  deployBlock: z.number().int(),
  verifiers: z.array(z.string().transform((value) => getAddress(value))),
  threshold: z.number().int(),
});
type Deployment = z.infer<typeof Deployment>;

/** anvil's state file in `stateDir`: loaded on start, dumped every few seconds and on exit. */
export const anvilStatePath = (stateDir: string) => path.join(stateDir, "anvil.json");
/** Where the contracts deployed on the local chain are recorded. */
export const deploymentPath = (stateDir: string) => path.join(stateDir, "contracts.json");

const require = createRequire(path.join(repoRoot, "package.json"));

// The platform binary itself, not the `anvil` Node wrapper: one process that gets the SIGTERM
// and dumps its state, rather than a wrapper that may not forward it.
function anvilBinary(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  try {
    return require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/bin/anvil`);
  } catch {
    return path.join(repoRoot, "node_modules", ".bin", "anvil");
  }
}

/**
 * The local chain: anvil with its state persisted in the state directory, mining a block a
 * second. Once it answers, Verity's contracts are deployed (the registry with the local
 * verifiers and `threshold`), unless the ones recorded by an earlier run are still there for the
 * same verifiers, and the settler's key is funded. Its `info` gives local.json the chain's
 * fields, and the gateway and the verifiers read the contracts' addresses from it.
 */
export function chainService(options: ChainServiceOptions): Service {
  const rpcUrl = `http://${options.host}:${options.port}`;
  const chain = defineChain({
    id: LOCAL_CHAIN_ID,
    name: "anvil",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const client = createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 100 });
  let deployment: Deployment | undefined;

  return {
    name: CHAIN_SERVICE,

    process(ctx) {
      return {
        command: anvilBinary(),
        args: [
          "--host",
          options.host,
          "--port",
          String(options.port),
          "--chain-id",
          String(LOCAL_CHAIN_ID),
          "--block-time",
          String(options.blockTimeSeconds ?? 1),
          "--state",
          anvilStatePath(ctx.stateDir),
          // A crash loses at most this many seconds of chain: the settler resends what vanished.
          "--state-interval",
          "5",
          "--silent",
        ],
        cwd: repoRoot,
        env: { ...process.env },
      };
    },

    async ready(ctx) {
      await answers(ctx);
      const [deployed] = await Promise.all([ensureContracts(ctx), fundSettler(ctx)]);
      deployment = deployed;
    },

    info(ctx) {
      if (!deployment) throw new Error("the chain's info is read before it is ready");
      return {
        rpcUrl,
        chainId: LOCAL_CHAIN_ID,
        contracts: { registry: deployment.registry, ledger: deployment.ledger },
        settler: settlerAddress(ctx.secrets),
      };
    },
  };

  async function answers(ctx: ServiceContext) {
    for (;;) {
      ctx.signal.throwIfAborted();
      const id = await client.getChainId().catch(() => undefined);
      if (id === LOCAL_CHAIN_ID) return;
      if (id !== undefined) {
        throw toolFailure(
          `${rpcUrl} answers as chain ${id}, not the local chain ${LOCAL_CHAIN_ID}: is something else on port ${options.port}?`,
          "chain_mismatch",
        );
      }
      await sleep(50, undefined, { signal: ctx.signal });
    }
  }

  async function ensureContracts(ctx: ServiceContext): Promise<Deployment> {
    const recorded = await readDeployment(ctx.stateDir);
    const wanted = options.verifiers.map((v) => getAddress(v));
    if (
      recorded &&
      recorded.chainId === LOCAL_CHAIN_ID &&
      recorded.threshold === options.threshold &&
      recorded.verifiers.join() === wanted.join() &&
      (await hasCode(recorded.registry)) &&
      (await hasCode(recorded.ledger))
    ) {
      return recorded;
    }
    const deployed = await deployVerityContracts({
      rpcUrl,
      chainId: LOCAL_CHAIN_ID,
      deployerKey: DEPLOYER_KEY,
      verifiers: wanted,
      threshold: options.threshold,
      pollingIntervalMs: 100,
    });
    const record: Deployment = { ...deployed, verifiers: wanted, threshold: options.threshold };
    await writePrivateFile(deploymentPath(ctx.stateDir), `${JSON.stringify(record, null, 2)}\n`);
    ctx.log(
      `[${CHAIN_SERVICE}] deployed VerifierRegistry ${record.registry} and VerityLedger ${record.ledger}`,
    );
    return record;
  }

  async function hasCode(address: Address): Promise<boolean> {
    const code = await client.getCode({ address });
    return code !== undefined && code !== "0x";
  }

  async function fundSettler(ctx: ServiceContext) {
    const settler = settlerAddress(ctx.secrets);
    if ((await client.getBalance({ address: settler })) >= SETTLER_FLOOR) return;
    const wallet = createWalletClient({
      account: privateKeyToAccount(FAUCET_KEY),
      chain,
      transport: http(rpcUrl),
    });
    const hash = await wallet.sendTransaction({ to: settler, value: SETTLER_FUNDING });
    const receipt = await client.waitForTransactionReceipt({ hash, timeout: 30_000 });
    if (receipt.status !== "success") {
      throw toolFailure(`Funding the settler ${settler} failed (${hash}).`, "settler_unfunded");
    }
  }
}

async function readDeployment(stateDir: string): Promise<Deployment | undefined> {
  let text: string;
  try {
    text = await readFile(deploymentPath(stateDir), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const parsed = Deployment.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // a damaged record only costs a new deployment
  }
}
