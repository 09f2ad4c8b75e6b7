import { setTimeout as sleep } from "node:timers/promises";
import { stripVTControlCharacters } from "node:util";
import { CHAIN_SERVICE, chainService } from "./chain-service.ts";
import { type DevSecrets, loadOrCreateDevSecrets, verifierAddress } from "./dev-secrets.ts";
import { gatewayService } from "./gateway-service.ts";
import {
  type FaultyMode,
  type LocalNetworkInfo,
  removeLocalJson,
  writeLocalJson,
} from "./local-json.ts";
import { assertPortFree } from "./ports.ts";
import { type ProcessExit, ProcessGroup } from "./process-group.ts";
import { describeExit } from "./run-command.ts";
import { RunLock } from "./run-lock.ts";
import { scheduledTriggerService } from "./scheduled-trigger-service.ts";
import { toolFailure } from "./script-error.ts";
import type { Service, ServiceContext, ServiceStage } from "./service.ts";
import { ensurePrivateDir } from "./state-dir.ts";
import { verifierService } from "./verifier-service.ts";

export interface LocalNetworkOptions {
  stateDir: string;
  /** The gateway's port on 127.0.0.1; verifier n listens on `port + n`. */
  port: number;
  /** How many verifier nodes to run (default 3). */
  verifiers?: number;
  /** Runs the last verifier in this fault mode, to watch quorum and deadlines at work. */
  faulty?: FaultyMode | undefined;
  /** How often the gateway's cron handler runs (default 10 s); wrangler dev never runs it. */
  cronIntervalMs?: number;
  /**
   * The local chain's port (anvil). Default: right after the verifiers' ports. A network with no
   * verifiers has no chain: nobody could co-sign a batch.
   */
  chainPort?: number;
  /** How often the settler's alarm ticks (default 10 s); wrangler dev never runs its cron. */
  settleIntervalMs?: number;
  /** Seconds between the local chain's blocks (default 1); tests use a fraction of that. */
  blockTimeSeconds?: number;
  /** How long a verifier may take to show as online once it answers (default 15 s). */
  verifierOnlineTimeoutMs?: number;
  /** Extra gateway vars, e.g. `{ VERITY_BENCH: "1" }` for the bench. */
  gatewayVars?: Record<string, string>;
  /** The dev key's rate limit when it is first stored. */
  apiKeyRateLimitPerMinute?: number;
  /**
   * Run the workers from source under wrangler dev's watcher, so that edits reload. By default
   * they run prebuilt (worker-build.ts): a build per change of the sources, not per start.
   */
  watch?: boolean;
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
const GATEWAY = "gateway";

/** Verifiers `npm start` runs unless told otherwise: a committee's worth. */
export const DEFAULT_VERIFIERS = 3;
export const DEFAULT_CRON_INTERVAL_MS = 10_000;
export const DEFAULT_SETTLE_INTERVAL_MS = 10_000;
export const DEFAULT_BLOCK_TIME_SECONDS = 1;
/** Co-signatures a batch needs on the local chain (fewer if fewer verifiers run). */
export const LOCAL_THRESHOLD = 2;

type PortOptions = Pick<LocalNetworkOptions, "port" | "verifiers" | "chainPort">;

/** Whether the network runs a chain and settles on it: only with verifiers to co-sign. */
export const settles = (options: Pick<LocalNetworkOptions, "verifiers">) =>
  (options.verifiers ?? DEFAULT_VERIFIERS) > 0;

/** The chain's port: `chainPort`, or the one after the last verifier's. */
export const chainPort = (options: PortOptions) =>
  options.chainPort ?? options.port + 1 + (options.verifiers ?? DEFAULT_VERIFIERS);

/**
 * How many consecutive ports from the gateway's a network takes when the chain's port is not
 * given: the gateway's, the verifiers', and the chain's (if it settles).
 */
export const localPortCount = (verifiers = DEFAULT_VERIFIERS) =>
  1 + verifiers + (settles({ verifiers }) ? 1 : 0);

/** The ports of the network: the gateway's first, then verifier n's at index n, then the chain's. */
export const localPorts = (options: PortOptions) => [
  ...Array.from(
    { length: 1 + (options.verifiers ?? DEFAULT_VERIFIERS) },
    (_, i) => options.port + i,
  ),
  ...(settles(options) ? [chainPort(options)] : []),
];

/**
 * The services of the local network: the local chain (anvil, with the contracts deployed), the
 * gateway (the coordinator, and the settler in the same wrangler dev), its verifier nodes and
 * the gateway's cron driver. They start side by side; each waits for what it needs. Verifier
 * keys of `secrets` beyond the ones run this time belong to earlier runs: they are retired.
 */
export function localServices(options: LocalNetworkOptions, secrets: DevSecrets): Service[] {
  const count = options.verifiers ?? DEFAULT_VERIFIERS;
  const gatewayUrl = `http://${HOST}:${options.port}`;
  const verifiers = Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    port: options.port + i + 1,
    address: verifierAddress(secrets, i),
    faultMode: i === count - 1 ? (options.faulty ?? null) : null,
  }));
  const settlement = settles(options);
  return [
    ...(settlement
      ? [
          chainService({
            host: HOST,
            port: chainPort(options),
            verifiers: verifiers.map((v) => v.address),
            threshold: Math.min(LOCAL_THRESHOLD, count),
            blockTimeSeconds: options.blockTimeSeconds ?? DEFAULT_BLOCK_TIME_SECONDS,
          }),
        ]
      : []),
    gatewayService({
      host: HOST,
      port: options.port,
      vars: options.gatewayVars,
      settlement: settlement
        ? {
            chainService: CHAIN_SERVICE,
            settleIntervalMs: options.settleIntervalMs ?? DEFAULT_SETTLE_INTERVAL_MS,
          }
        : undefined,
      apiKeyRateLimitPerMinute: options.apiKeyRateLimitPerMinute,
      watch: options.watch,
      verifiers: verifiers.map((v) => ({ address: v.address, url: `http://${HOST}:${v.port}` })),
      retiredVerifiers: secrets.verifierKeys
        .slice(count)
        .map((_, i) => verifierAddress(secrets, count + i)),
    }),
    ...verifiers.map((v) =>
      verifierService({
        index: v.index,
        host: HOST,
        port: v.port,
        coordinatorUrl: gatewayUrl,
        coordinatorService: GATEWAY,
        faultMode: v.faultMode,
        onlineTimeoutMs: options.verifierOnlineTimeoutMs,
        chainService: settlement ? CHAIN_SERVICE : undefined,
        watch: options.watch,
      }),
    ),
    scheduledTriggerService({
      name: "cron",
      workerUrl: gatewayUrl,
      workerService: GATEWAY,
      intervalMs: options.cronIntervalMs ?? DEFAULT_CRON_INTERVAL_MS,
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
      await Promise.all(groups.map(({ group }) => group.stop()));
      await lock.release();
    })();
    return stopped;
  };

  // Every service runs start -> prepare -> process -> ready on its own; `reached` lets one wait
  // for another's stage, and the first failure stops them all.
  const stages = new Map<string, Record<ServiceStage, PromiseWithResolvers<void>>>();
  const reached = (name: string, stage: ServiceStage): Promise<void> => {
    const waited = stages.get(name)?.[stage].promise;
    if (!waited) {
      return Promise.reject(
        toolFailure(`No service called ${name} in the network.`, "no_such_service"),
      );
    }
    return Promise.race([waited, aborted(signal)]);
  };
  let pipelines: Promise<unknown>[] = [];

  try {
    for (const port of localPorts(options)) await assertPortFree(port, HOST);
    const { secrets } = await loadOrCreateDevSecrets(stateDir, {
      verifiers: options.verifiers ?? DEFAULT_VERIFIERS,
    });
    const services = localServices(options, secrets);
    for (const service of services) {
      const resolvers = {
        prepared: Promise.withResolvers<void>(),
        ready: Promise.withResolvers<void>(),
      };
      // Nobody may be waiting: a failure is reported by the pipeline itself.
      for (const r of Object.values(resolvers)) r.promise.catch(() => {});
      stages.set(service.name, resolvers);
    }
    const soFar: Partial<LocalNetworkInfo> = {};
    const infos: Partial<LocalNetworkInfo>[] = [];
    const startOne = async (service: Service, index: number) => {
      const stage = stages.get(service.name);
      if (!stage) throw new Error(`unknown service ${service.name}`);
      const ctx: ServiceContext = {
        stateDir,
        secrets,
        get info() {
          return { ...soFar };
        },
        reached,
        signal,
        log,
      };
      try {
        await service.prepare?.(ctx);
        signal.throwIfAborted();
        stage.prepared.resolve();
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
        signal.throwIfAborted();
        await waitUntilReady(service, ctx, group, fatal.promise, options.readyTimeoutMs ?? 120_000);
        const info = service.info(ctx);
        infos[index] = info;
        mergeInfo(soFar, info);
        stage.ready.resolve();
      } catch (err) {
        stage.prepared.reject(err);
        stage.ready.reject(err);
        throw err;
      }
    };
    pipelines = services.map((service, index) => startOne(service, index));
    await Promise.all(pipelines);
    const merged: Partial<LocalNetworkInfo> = { verifiers: [] };
    for (const info of infos) mergeInfo(merged, info);
    const complete: LocalNetworkInfo = {
      gatewayUrl: required(merged.gatewayUrl, "gatewayUrl"),
      apiKey: required(merged.apiKey, "apiKey"),
      apiKeyId: required(merged.apiKeyId, "apiKeyId"),
      inferenceNode: required(merged.inferenceNode, "inferenceNode"),
      coordinator: required(merged.coordinator, "coordinator"),
      verifiers: required(merged.verifiers, "verifiers"),
      ...merged,
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
    // The first failure is the one to report; the others follow from stopping.
    stopping.abort(new Error("the local network is stopping"));
    await Promise.allSettled(pipelines);
    await stop();
    throw err;
  }
}

/** Merges `add` into `into`: arrays (each verifier's entry in `verifiers`) are concatenated. */
function mergeInfo(into: Partial<LocalNetworkInfo>, add: Partial<LocalNetworkInfo>): void {
  const target = into as Record<string, unknown>;
  for (const [key, value] of Object.entries(add)) {
    const current = target[key];
    target[key] = Array.isArray(current) && Array.isArray(value) ? [...current, ...value] : value;
  }
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
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
