import type { DevSecrets } from "./dev-secrets.ts";
import type { LocalNetworkInfo } from "./local-json.ts";
import type { ProcessSpec } from "./process-group.ts";

/** What a service sees while it starts. */
export interface ServiceContext {
  stateDir: string;
  secrets: DevSecrets;
  /** The local.json fields of the services started before this one. */
  info: Readonly<Partial<LocalNetworkInfo>>;
  /** Aborted when the network stops while this service is starting. */
  signal: AbortSignal;
  log(line: string): void;
}

/**
 * One process of the local network (the gateway; later verifier workers, anvil, a settler).
 * `startLocalNetwork` starts services in list order: `prepare`, then `process` in its own
 * process group, then `ready`, and merges `info` into local.json.
 */
export interface Service {
  /** Short, lowercase: it prefixes the process's output lines. */
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
