import { setTimeout as sleep } from "node:timers/promises";
import { stripVTControlCharacters } from "node:util";
import { loadOrCreateDevSecrets } from "./dev-secrets.ts";
import { gatewayService } from "./gateway-service.ts";
import { type LocalNetworkInfo, removeLocalJson, writeLocalJson } from "./local-json.ts";
import { assertPortFree } from "./ports.ts";
import { type ProcessExit, ProcessGroup } from "./process-group.ts";
import { describeExit } from "./run-command.ts";
import { RunLock } from "./run-lock.ts";
import { toolFailure } from "./script-error.ts";
import type { Service, ServiceContext } from "./service.ts";
import { ensurePrivateDir } from "./state-dir.ts";

export interface LocalNetworkOptions {
  stateDir: string;
  /** The gateway's port on 127.0.0.1. */
  port: number;
  /** Extra gateway vars, e.g. `{ VERITY_BENCH: "1" }` for the bench. */
  gatewayVars?: Record<string, string>;
  /** The dev key's rate limit when it is first stored. */
  apiKeyRateLimitPerMinute?: number;
  /** Where progress and the services' output go (one line per call). */
  log?: (line: string) => void;
  /** Keep the services' colours (default: when stderr is a terminal). */
  color?: boolean;
  /** How long a service may take to answer. */
  readyTimeoutMs?: number;
  /** Aborting stops a start under way. */
  signal?: AbortSignal;
}

/** A service process that exited while the network was up. */
export interface ServiceFailure {
  service: string;
  exit: ProcessExit;
  lastLines: string[];
}

export interface LocalNetwork {
  info: LocalNetworkInfo;
  /** Resolves if a service's process exits on its own while the network is up. */
  failure: Promise<ServiceFailure>;
  /** Stops every process of the network, removes local.json and releases the state directory. */
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";

/** The services of the local network, in start order; later ones see earlier ones' info. */
export function localServices(options: LocalNetworkOptions): Service[] {
  return [
    gatewayService({
      host: HOST,
      port: options.port,
      vars: options.gatewayVars,
      apiKeyRateLimitPerMinute: options.apiKeyRateLimitPerMinute,
    }),
  ];
}

/** A failure's message: how the process ended and the last thing it said. */
export function describeFailure(failure: ServiceFailure): string {
  const lines = failure.lastLines
    .map((line) => stripVTControlCharacters(line))
    .filter((line) => line.trim() !== "")
    .slice(-25);
  const tail =
    lines.length > 0 ? `; its last output:\n${lines.map((l) => `  ${l}`).join("\n")}` : "";
  return `${failure.service} exited (${describeExit(failure.exit)})${tail}`;
}

/**
 * Starts the whole local network (offline, on miniflare) in `options.stateDir` and resolves once
 * every service answers and local.json is written. On any failure it stops what it started.
 */
export async function startLocalNetwork(options: LocalNetworkOptions): Promise<LocalNetwork> {
  const log = options.log ?? ((line: string) => console.error(line));
  const color = options.color ?? process.stderr.isTTY === true;
  const { stateDir } = options;
  await ensurePrivateDir(stateDir);
  const { lock, cleanedUp } = await RunLock.acquire(stateDir);
  if (cleanedUp.length > 0) log(`stopped leftovers of an earlier run: ${cleanedUp.join(", ")}`);

  const groups: { service: string; group: ProcessGroup }[] = [];
  const stopping = new AbortController();
  const signal = options.signal
    ? AbortSignal.any([options.signal, stopping.signal])
    : stopping.signal;
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      stopping.abort(new Error("the local network is stopping"));
      await removeLocalJson(stateDir);
      for (const { group } of [...groups].reverse()) await group.stop();
      await lock.release();
    })();
    return stopped;
  };

  try {
    await assertPortFree(options.port, HOST);
    const { secrets } = await loadOrCreateDevSecrets(stateDir);
    const info: Partial<LocalNetworkInfo> = {};
    for (const service of localServices(options)) {
      const ctx: ServiceContext = { stateDir, secrets, info: { ...info }, signal, log };
      await service.prepare?.(ctx);
      signal.throwIfAborted();
      const fatal = Promise.withResolvers<void>();
      const group = await ProcessGroup.start(service.name, service.process(ctx), {
        onLine: (line) => {
          const plain = stripVTControlCharacters(line);
          if (service.isFatalAtStart?.(plain)) fatal.resolve();
          if (!service.isNoise?.(plain)) log(`[${service.name}] ${color ? line : plain}`);
        },
      });
      groups.push({ service: service.name, group });
      await lock.add(service.name, group.pid);
      await waitUntilReady(service, ctx, group, fatal.promise, options.readyTimeoutMs ?? 120_000);
      Object.assign(info, service.info(ctx));
    }
    const complete: LocalNetworkInfo = {
      gatewayUrl: required(info.gatewayUrl, "gatewayUrl"),
      apiKey: required(info.apiKey, "apiKey"),
      apiKeyId: required(info.apiKeyId, "apiKeyId"),
      inferenceNode: required(info.inferenceNode, "inferenceNode"),
      coordinator: required(info.coordinator, "coordinator"),
      ...info,
      stateDir,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    };
    await writeLocalJson(complete);
    const failure = Promise.race(
      groups.map(({ service, group }) =>
        group.exited.then((exit) => ({ service, exit, lastLines: group.lastLines() })),
      ),
    ).then((failure) =>
      // An exit we caused is not a failure: such a promise never settles.
      signal.aborted ? new Promise<never>(() => {}) : failure,
    );
    return { info: complete, failure, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function required<T>(value: T | undefined, field: string): T {
  if (value === undefined)
    throw toolFailure(`No service provides local.json's ${field}.`, "local_json_incomplete");
  return value;
}

async function waitUntilReady(
  service: Service,
  ctx: ServiceContext,
  group: ProcessGroup,
  fatal: Promise<void>,
  timeoutMs: number,
): Promise<void> {
  const giveUp = new AbortController();
  const signal = AbortSignal.any([ctx.signal, giveUp.signal]);
  const timer = setTimeout(() => giveUp.abort(), timeoutMs);
  try {
    await Promise.race([
      service.ready({ ...ctx, signal }),
      group.exited.then((exit) => {
        throw toolFailure(
          describeFailure({ service: service.name, exit, lastLines: group.lastLines() }),
          "service_exited",
        );
      }),
      fatal.then(async () => {
        await sleep(500); // the lines that explain the error follow it
        const lines = group.lastLines().map((line) => `  ${stripVTControlCharacters(line)}`);
        throw toolFailure(
          `${service.name} failed to start:\n${lines.join("\n")}`,
          "service_failed",
        );
      }),
    ]);
  } catch (err) {
    if (giveUp.signal.aborted && !ctx.signal.aborted) {
      throw toolFailure(
        `${service.name} did not answer within ${Math.round(timeoutMs / 1000)} s.`,
        "service_not_ready",
      );
    }
    throw err;
  } finally {
    clearTimeout(timer);
    giveUp.abort();
  }
}
