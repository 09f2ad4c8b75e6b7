import { rm } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Address, getAddress } from "viem";
import { z } from "zod";
import {
  coordinatorAddress,
  inferenceNodeAddress,
  settlerAddress,
  verifierAddress,
} from "./dev-secrets.ts";
import { chainInfo } from "./gateway-service.ts";
import type { FaultyMode } from "./local-json.ts";
import { toolFailure } from "./script-error.ts";
import type { Service, ServiceContext } from "./service.ts";
import { writePrivateFile } from "./state-dir.ts";
import { prebuiltWorker } from "./worker-build.ts";
import {
  isWranglerBuildFailure,
  wranglerDevArgs,
  wranglerDevCodeArgs,
  wranglerDevNoise,
  wranglerSpec,
} from "./wrangler.ts";

export interface VerifierServiceOptions {
  /** 1-based: verifier n is the service `verifier-n` and signs with the n-th dev verifier key. */
  index: number;
  host: string;
  port: number;
  /** The coordinator's base URL (the gateway) and the name of its service, which this one waits for. */
  coordinatorUrl: string;
  coordinatorService: string;
  /** Deliberate misbehaviour (the verifier's FAULT_MODE), or null for an honest node. */
  faultMode: FaultyMode | null;
  /** How long the coordinator may take to list this verifier online once it answers. */
  onlineTimeoutMs?: number;
  /** The chain service whose contracts this verifier checks batches against before co-signing. */
  chainService?: string;
  /** Bundle from source and reload on edits, rather than run the prebuilt worker. */
  watch?: boolean;
}

/** The name of verifier `index`'s service. */
export const verifierServiceName = (index: number) => `verifier-${index}`;

/** Where verifier `index` keeps its wrangler state: its own, apart from the gateway's. */
export const verifierPersistDir = (stateDir: string, index: number) =>
  path.join(stateDir, "verifiers", String(index));

const Health = z.object({ address: z.string(), faultMode: z.string().nullable() });
const VerifierList = z.object({
  data: z.array(z.object({ address: z.string(), online: z.boolean() })),
});
const ErrorBody = z.object({ error: z.object({ message: z.string(), code: z.string() }) });

/**
 * A verifier node (wrangler.verify.toml) under `wrangler dev`, with only its own VERIFIER_KEY
 * (through an env file in the state directory) and pointed at the local coordinator. It is
 * ready once the coordinator lists it online: its first request arms its heartbeat alarm, so
 * the readiness check waits for the coordinator, which registers the verifiers, before it asks
 * the verifier anything.
 */
export function verifierService(options: VerifierServiceOptions): Service {
  const name = verifierServiceName(options.index);
  const url = `http://${options.host}:${options.port}`;
  const keyIndex = options.index - 1;
  const envFile = (ctx: ServiceContext) => path.join(ctx.stateDir, `${name}.env`);
  const persistTo = (ctx: ServiceContext) => verifierPersistDir(ctx.stateDir, options.index);
  let prebuilt: string | undefined;

  return {
    name,

    async prepare(ctx) {
      await writePrivateFile(
        envFile(ctx),
        `VERIFIER_KEY=${ctx.secrets.verifierKeys[keyIndex] ?? missingKey(options.index)}\n`,
      );
      // The only state a verifier keeps is its heartbeat alarm. One left by an earlier run would
      // fire while the coordinator is still starting, and the next would come a heartbeat
      // interval later, keeping this verifier offline that long: start afresh instead.
      await rm(persistTo(ctx), { recursive: true, force: true });
      if (!options.watch) prebuilt = await prebuiltWorker("wrangler.verify.toml");
      if (options.chainService) await ctx.reached(options.chainService, "ready");
    },

    process(ctx) {
      const vars = {
        COORDINATOR_URL: options.coordinatorUrl,
        COORDINATOR_ADDRESS: coordinatorAddress(ctx.secrets),
        INFERENCE_NODES: inferenceNodeAddress(ctx.secrets),
        PUBLIC_URL: url,
        FAULT_MODE: options.faultMode ?? "",
        ...(options.chainService ? chainVars(ctx) : {}),
      };
      return wranglerSpec(
        [
          "dev",
          ...wranglerDevCodeArgs(prebuilt),
          "--config",
          "wrangler.verify.toml",
          // Distinct names keep the verifiers apart in wrangler's registry of local dev sessions.
          "--name",
          `verity-verifier-${options.index}`,
          ...wranglerDevArgs({
            host: options.host,
            port: options.port,
            persistTo: persistTo(ctx),
            envFile: envFile(ctx),
            vars,
          }),
        ],
        {
          // wrangler lets process.env override the env file: keep this verifier's own key.
          VERIFIER_KEY: undefined,
          WRANGLER_LOG_PATH: path.join(ctx.stateDir, "logs"),
        },
      );
    },

    isNoise: wranglerDevNoise(),
    isFatalAtStart: isWranglerBuildFailure,

    async ready(ctx) {
      await ctx.reached(options.coordinatorService, "ready");
      const address = verifierAddress(ctx.secrets, keyIndex);
      await answers(ctx, address);
      await online(ctx, address);
    },

    info(ctx) {
      return {
        verifiers: [
          { address: verifierAddress(ctx.secrets, keyIndex), url, faultMode: options.faultMode },
        ],
      };
    },
  };

  // Polls /v1/health until this verifier answers as the address of its key.
  async function answers(ctx: ServiceContext, expected: Address) {
    for (;;) {
      ctx.signal.throwIfAborted();
      const res = await fetch(`${url}/v1/health`, {
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(5_000)]),
      }).catch(() => undefined);
      const body = parseJson(await res?.text().catch(() => undefined));
      if (res?.ok) {
        const health = Health.safeParse(body);
        if (!health.success || getAddress(health.data.address) !== expected) {
          throw toolFailure(
            `${url} does not answer as ${name} (${expected}): is something else on port ${options.port}?`,
            "verifier_mismatch",
          );
        }
        return;
      }
      // A misconfigured verifier answers 503 and stays so: say why rather than time out.
      const error = ErrorBody.safeParse(body);
      if (error.success && error.data.error.code === "verifier_misconfigured") {
        throw toolFailure(`${name}: ${error.data.error.message}`, "verifier_misconfigured");
      }
      await sleep(100, undefined, { signal: ctx.signal });
    }
  }

  // Polls the coordinator's registry until it has this verifier's heartbeat.
  async function online(ctx: ServiceContext, address: Address) {
    const timeoutMs = options.onlineTimeoutMs ?? 15_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      ctx.signal.throwIfAborted();
      const res = await fetch(`${options.coordinatorUrl}/v1/verifiers`, {
        headers: { authorization: `Bearer ${ctx.secrets.apiKey}` },
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(5_000)]),
      }).catch(() => undefined);
      const list = VerifierList.safeParse(parseJson(await res?.text().catch(() => undefined)));
      const entry = list.success
        ? list.data.data.find((v) => getAddress(v.address) === address)
        : undefined;
      if (entry?.online) return;
      if (Date.now() >= deadline) {
        throw toolFailure(
          `${name} (${address}) answers at ${url}, but the coordinator ${options.coordinatorUrl} ` +
            `has not had a heartbeat from it within ${Math.round(timeoutMs / 1000)} s ` +
            `(${entry ? "it is registered but offline" : "it is not even registered"}). ` +
            `Look for "heartbeat refused" or "heartbeat failed" in its output above.`,
          "verifier_offline",
        );
      }
      await sleep(200, undefined, { signal: ctx.signal });
    }
  }
}

function chainVars(ctx: ServiceContext) {
  const { rpcUrl, chainId, contracts } = chainInfo(ctx);
  return {
    RPC_URL: rpcUrl,
    CHAIN_ID: String(chainId),
    REGISTRY_ADDRESS: contracts.registry,
    LEDGER_ADDRESS: contracts.ledger,
    // Verifiers co-sign only what this settler proposes.
    SETTLER_ADDRESS: settlerAddress(ctx.secrets),
  };
}

function missingKey(index: number): never {
  throw toolFailure(`No dev key for verifier ${index} in the state directory.`, "dev_secrets");
}

function parseJson(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
