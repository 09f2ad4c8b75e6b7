import type { DevSecrets } from "./dev-secrets.ts";
import type { LocalNetworkInfo } from "./local-json.ts";
import type { ProcessSpec } from "./process-group.ts";

/** How far a service has come: its `prepare` is done, or it answers (`ready`). */
export type ServiceStage = "prepared" | "ready";

/** What a service sees while it starts. */
export interface ServiceContext {
  stateDir: string;
  secrets: DevSecrets;
  /** The local.json fields of the services that are ready so far. */
  readonly info: Readonly<Partial<LocalNetworkInfo>>;
  /**
   * Resolves once the service called `name` has reached `stage`; rejects if that service failed,
   * or if there is no such service. Services start together: this is how one waits for another
   * (a verifier for the gateway it heartbeats to). A cycle of waits hangs until the ready timeout.
   */
  reached(name: string, stage: ServiceStage): Promise<void>;
  /** Aborted when the network stops while this service is starting. */
  signal: AbortSignal;
  log(line: string): void;
}

/**
 * One process of the local network (the gateway, verifier nodes, a cron driver; later anvil,
 * a settler). `startLocalNetwork` starts all services at once, each on its own: `prepare`, then
 * `process` in its own process group, then `ready`; a service that needs another waits for it
 * with `ctx.reached`. Once every service is ready, their `info` is merged in list order into
 * local.json (array fields are concatenated, so each verifier adds itself to `verifiers`).
 */
export interface Service {
  /** Short, lowercase, unique: it prefixes the process's output lines. */
  readonly name: string;
  /** One-off work before the process starts: migrations, keys, deployments. */
  prepare?(ctx: ServiceContext): Promise<void>;
  /** The long-running process. */
  process(ctx: ServiceContext): ProcessSpec;
  /** Output lines to drop as noise; everything else is shown. */
  isNoise?(line: string): boolean;
  /** Output lines that mean the service will not come up (a build error): starting stops there. */
  isFatalAtStart?(line: string): boolean;
  /** Resolves once the service answers. Polls until `ctx.signal` aborts. */
  ready(ctx: ServiceContext): Promise<void>;
  /** The fields this service adds to local.json. */
  info(ctx: ServiceContext): Partial<LocalNetworkInfo>;
}
