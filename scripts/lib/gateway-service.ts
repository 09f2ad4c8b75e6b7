import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Address, getAddress } from "viem";
import { z } from "zod";
import { insertApiKey } from "./api-key-store.ts";
import type { D1Target } from "./d1.ts";
import { coordinatorAddress, inferenceNodeAddress } from "./dev-secrets.ts";
import { applyLocalMigrations } from "./local-d1.ts";
import { toolFailure } from "./script-error.ts";
import type { Service, ServiceContext } from "./service.ts";
import { writeSettlerConfig } from "./settler-config.ts";
import { wranglerPersistDir, writePrivateFile } from "./state-dir.ts";
import { type VerifierRegistration, verifierRegistrationStatements } from "./verifier-store.ts";
import { prebuiltWorker } from "./worker-build.ts";
import {
  isWranglerBuildFailure,
  wranglerDevArgs,
  wranglerDevCodeArgs,
  wranglerDevNoise,
  wranglerSpec,
} from "./wrangler.ts";

export interface GatewayOptions {
  host: string;
  port: number;
  /** Extra worker vars (`wrangler dev --var NAME:VALUE`), e.g. `{ VERITY_BENCH: "1" }`. */
  vars?: Record<string, string>;
  /** The dev key's rate limit when it is first stored; the table default otherwise. */
  apiKeyRateLimitPerMinute?: number;
  /** Verifier nodes to register in the gateway's D1 before it is ready, so their heartbeats count. */
  verifiers?: readonly VerifierRegistration[];
  /** Verifiers of earlier runs to mark removed, so that committees stop picking them. */
  retiredVerifiers?: readonly Address[];
  /**
   * Settle on the local chain: the gateway follows the chain's registry, and the settler runs
   * in the same `wrangler dev` (sharing D1 and the queue), once the chain service is ready.
   */
  settlement?: { chainService: string; settleIntervalMs: number };
  /** Bundle from source and reload on edits, rather than run prebuilt workers. */
  watch?: boolean;
}

const Health = z.object({ status: z.literal("ok"), node: z.string() });

/**
 * The gateway worker under `wrangler dev` (miniflare, offline), with D1 and Durable Objects
 * persisted in the state directory. It applies the D1 migrations before it starts, and stores
 * the dev API key and registers the local verifiers while it boots; it is ready once it answers,
 * so a verifier that waits for it can heartbeat at once. Its secret keys (inference node,
 * coordinator) reach the worker through an env file in the state directory, never the repo or
 * the command line.
 */
export function gatewayService(options: GatewayOptions): Service {
  const url = `http://${options.host}:${options.port}`;
  const envFile = (ctx: ServiceContext) => path.join(ctx.stateDir, "gateway.env");
  const persistTo = (ctx: ServiceContext) => wranglerPersistDir(ctx.stateDir);
  const d1 = (ctx: ServiceContext): D1Target => ({ kind: "local", persistTo: persistTo(ctx) });
  let settlerConfig: string | undefined;
  let prebuilt: string | undefined;

  return {
    name: "gateway",

    async prepare(ctx) {
      await writePrivateFile(
        envFile(ctx),
        `INFERENCE_NODE_KEY=${ctx.secrets.inferenceNodeKey}\nCOORDINATOR_KEY=${ctx.secrets.coordinatorKey}\n`,
      );
      const [gatewayBuild, settlerBuild] = await Promise.all([
        options.watch ? undefined : prebuiltWorker("wrangler.toml"),
        options.watch || !options.settlement ? undefined : prebuiltWorker("wrangler.settle.toml"),
        applyLocalMigrations(persistTo(ctx)),
      ]);
      prebuilt = gatewayBuild;
      ctx.signal.throwIfAborted();
      if (options.settlement) {
        await ctx.reached(options.settlement.chainService, "ready");
        const { rpcUrl, chainId, contracts } = chainInfo(ctx);
        settlerConfig = await writeSettlerConfig(
          ctx.stateDir,
          {
            RPC_URL: rpcUrl,
            CHAIN_ID: String(chainId),
            LEDGER_ADDRESS: contracts.ledger,
            REGISTRY_ADDRESS: contracts.registry,
            SETTLE_INTERVAL_MS: String(options.settlement.settleIntervalMs),
          },
          ctx.secrets.settlerKey,
          settlerBuild,
        );
      }
    },

    process(ctx) {
      const chain = options.settlement ? chainInfo(ctx) : undefined;
      const allVars = {
        ...(chain ? { RPC_URL: chain.rpcUrl, REGISTRY_ADDRESS: chain.contracts.registry } : {}),
        ...options.vars,
      };
      // Only the first config gets the port, the vars and the env file; the settler's come
      // from its generated config (see settler-config.ts).
      const configs = settlerConfig ? ["-c", "wrangler.toml", "-c", settlerConfig] : [];
      return wranglerSpec(
        [
          "dev",
          ...wranglerDevCodeArgs(prebuilt),
          ...configs,
          ...wranglerDevArgs({
            host: options.host,
            port: options.port,
            persistTo: persistTo(ctx),
            envFile: envFile(ctx),
            vars: allVars,
          }),
        ],
        {
          // wrangler lets process.env override the env file: keep the state directory's keys.
          INFERENCE_NODE_KEY: undefined,
          COORDINATOR_KEY: undefined,
          WRANGLER_LOG_PATH: path.join(ctx.stateDir, "logs"),
        },
      );
    },

    isNoise: wranglerDevNoise(),
    isFatalAtStart: isWranglerBuildFailure,

    // The dev key is stored and the verifiers registered (in one wrangler call) while wrangler
    // dev boots: both take about a second.
    async ready(ctx) {
      await Promise.all([storeDevKeyAndVerifiers(ctx), answers(ctx)]);
    },

    info(ctx) {
      return {
        gatewayUrl: url,
        apiKey: ctx.secrets.apiKey,
        apiKeyId: ctx.secrets.apiKeyId,
        inferenceNode: inferenceNodeAddress(ctx.secrets),
        coordinator: coordinatorAddress(ctx.secrets),
      };
    },
  };

  async function storeDevKeyAndVerifiers(ctx: ServiceContext) {
    const devKey = await insertApiKey(
      d1(ctx),
      {
        id: ctx.secrets.apiKeyId,
        key: ctx.secrets.apiKey,
        name: "dev (npm start)",
        rateLimitPerMinute: options.apiKeyRateLimitPerMinute,
      },
      {
        signal: ctx.signal,
        alongside: verifierRegistrationStatements(
          options.verifiers ?? [],
          options.retiredVerifiers ?? [],
        ),
      },
    );
    if (devKey.revokedAt !== null) {
      ctx.log(
        `warning: the dev API key ${devKey.id} is revoked; create another with \`npm run keys -- create\`.`,
      );
    }
  }

  // Polls /health until the gateway answers it, naming the node of this state directory. Any
  // other answer is not our gateway (yet): something else took the port before wrangler could,
  // and wrangler will exit saying so, which waitUntilReady reports.
  async function answers(ctx: ServiceContext) {
    const expected = inferenceNodeAddress(ctx.secrets);
    for (;;) {
      ctx.signal.throwIfAborted();
      const res = await fetch(`${url}/health`, {
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(5_000)]),
      }).catch(() => undefined);
      const body = await res?.text().catch(() => undefined);
      const health = res?.ok ? Health.safeParse(parseJson(body)) : undefined;
      if (health?.success) {
        if (getAddress(health.data.node) !== expected) {
          throw toolFailure(
            `The gateway signs as ${health.data.node}, not as this state directory's node ${expected}.`,
            "node_key_mismatch",
          );
        }
        return;
      }
      await sleep(100, undefined, { signal: ctx.signal });
    }
  }
}

/** The chain's fields of local.json, which the chain service provides once it is ready. */
export function chainInfo(ctx: Pick<ServiceContext, "info">) {
  const { rpcUrl, chainId, contracts } = ctx.info;
  if (rpcUrl === undefined || chainId === undefined || contracts === undefined) {
    throw toolFailure(
      "The local chain is not ready: no contract addresses yet.",
      "chain_not_ready",
    );
  }
  return { rpcUrl, chainId, contracts };
}

function parseJson(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
