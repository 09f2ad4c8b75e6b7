import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { getAddress } from "viem";
import { z } from "zod";
import { insertApiKey } from "./api-key-store.ts";
import { DATABASE_NAME } from "./d1.ts";
import { coordinatorAddress, inferenceNodeAddress } from "./dev-secrets.ts";
import { runCommandOrFail } from "./run-command.ts";
import { toolFailure } from "./script-error.ts";
import type { Service, ServiceContext } from "./service.ts";
import { wranglerPersistDir, writePrivateFile } from "./state-dir.ts";
import { wranglerSpec } from "./wrangler.ts";

export interface GatewayOptions {
  host: string;
  port: number;
  /** Extra worker vars (`wrangler dev --var NAME:VALUE`), e.g. `{ VERITY_BENCH: "1" }`. */
  vars?: Record<string, string>;
  /** The dev key's rate limit when it is first stored; the table default otherwise. */
  apiKeyRateLimitPerMinute?: number;
}

const Health = z.object({ status: z.literal("ok"), node: z.string() });

// What wrangler prints at --log-level warn that tells a developer nothing. Its debug log (in
// the state directory) keeps everything.
const NOISE = [/^\s*$/, /Logs were written to/];
// Warnings dropped with their indented continuation lines. The cron only restarts rounds that
// a crash kept from starting; locally, rounds start from requests.
const NOISY_WARNINGS = [/\[WARNING\] Scheduled Workers are not automatically triggered/];

/**
 * The gateway worker under `wrangler dev` (miniflare, offline), with D1 and Durable Objects
 * persisted in the state directory. It applies the D1 migrations before it starts and stores
 * the dev API key while it boots; its secret keys (inference node, coordinator) reach the worker
 * through an env file in the state directory, never the repo or the command line.
 */
export function gatewayService(options: GatewayOptions): Service {
  const url = `http://${options.host}:${options.port}`;
  const envFile = (ctx: ServiceContext) => path.join(ctx.stateDir, "gateway.env");
  const persistTo = (ctx: ServiceContext) => wranglerPersistDir(ctx.stateDir);
  let inNoisyWarning = false;

  return {
    name: "gateway",

    async prepare(ctx) {
      await writePrivateFile(
        envFile(ctx),
        `INFERENCE_NODE_KEY=${ctx.secrets.inferenceNodeKey}\nCOORDINATOR_KEY=${ctx.secrets.coordinatorKey}\n`,
      );
      await runCommandOrFail(
        "wrangler d1 migrations apply",
        wranglerSpec([
          "d1",
          "migrations",
          "apply",
          DATABASE_NAME,
          "--local",
          "--persist-to",
          persistTo(ctx),
        ]),
        { signal: ctx.signal },
      );
    },

    process(ctx) {
      const vars = Object.entries(options.vars ?? {}).flatMap(([name, value]) => [
        "--var",
        `${name}:${value}`,
      ]);
      return wranglerSpec(
        [
          "dev",
          "--ip",
          options.host,
          "--port",
          String(options.port),
          // A random inspector port, so that several local networks can run side by side.
          "--inspector-port",
          "0",
          "--persist-to",
          persistTo(ctx),
          "--env-file",
          envFile(ctx),
          "--log-level",
          "warn",
          "--show-interactive-dev-session=false",
          ...vars,
        ],
        {
          // wrangler lets process.env override the env file: keep the state directory's keys.
          INFERENCE_NODE_KEY: undefined,
          COORDINATOR_KEY: undefined,
          WRANGLER_LOG_PATH: path.join(ctx.stateDir, "logs"),
        },
      );
    },

    isNoise(line) {
      if (NOISY_WARNINGS.some((pattern) => pattern.test(line))) {
        inNoisyWarning = true;
        return true;
      }
      if (inNoisyWarning && /^(\s|$)/.test(line)) return true;
      inNoisyWarning = false;
      return NOISE.some((pattern) => pattern.test(line));
    },

    // wrangler dev stays up after a failed build, waiting for a fix; at start that is an error.
    isFatalAtStart: (line) => /\[ERROR\] Build failed/.test(line),

    // The dev key is stored while wrangler dev boots: both take about a second.
    async ready(ctx) {
      await Promise.all([storeDevKey(ctx), answers(ctx)]);
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

  async function storeDevKey(ctx: ServiceContext) {
    const devKey = await insertApiKey(
      { kind: "local", persistTo: persistTo(ctx) },
      {
        id: ctx.secrets.apiKeyId,
        key: ctx.secrets.apiKey,
        name: "dev (npm start)",
        rateLimitPerMinute: options.apiKeyRateLimitPerMinute,
      },
      { signal: ctx.signal },
    );
    if (devKey.revokedAt !== null) {
      ctx.log(
        `warning: the dev API key ${devKey.id} is revoked; create another with \`npm run keys -- create\`.`,
      );
    }
  }

  // Polls /health until workerd serves the worker: any answer but a server error. A gateway
  // with a /health route must name the node of this state directory.
  async function answers(ctx: ServiceContext) {
    const expected = inferenceNodeAddress(ctx.secrets);
    for (;;) {
      ctx.signal.throwIfAborted();
      const res = await fetch(`${url}/health`, {
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(5_000)]),
      }).catch(() => undefined);
      const body = await res?.text().catch(() => undefined);
      if (res && res.status < 500) {
        const health = res.ok ? Health.safeParse(parseJson(body)) : undefined;
        if (health?.success && getAddress(health.data.node) !== expected) {
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

function parseJson(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
