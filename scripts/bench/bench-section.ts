import type { LocalNetworkInfo } from "../lib/local-json.ts";

/** What a section that needs no local network gets: the run's settings. */
export interface StandaloneBenchContext {
  /** Progress, to stderr: stdout holds only the report. */
  log(line: string): void;
  signal: AbortSignal;
}

/** What every bench section gets: a running local network and the run's settings. */
export interface BenchContext extends StandaloneBenchContext {
  gatewayUrl: string;
  apiKey: string;
  /** The network the section runs against (its verifiers, its state directory...). */
  network: LocalNetworkInfo;
  /** Measured time per row, after `warmupMs` of unmeasured load. */
  durationMs: number;
  warmupMs: number;
  /** Bound on requests per measured row. */
  maxRequests: number;
  /** How long the verification section's steady load lasts. */
  keepPaceMs: number;
  /** The rate of that load, in requests per second. */
  keepPaceRate: number;
}

/** The network a section runs against. */
export interface BenchNetwork {
  /** Verifier nodes to run (0: rounds start, but no one judges them). */
  verifiers: number;
  /**
   * A network of its own, started for the section and stopped after it, rather than the one
   * the other sections share: for a section that what the others leave behind (rounds still
   * running) would disturb.
   */
  own?: boolean;
}

/** One titled part of the bench report. Later issues add sections to the list in bench.ts. */
export interface BenchSection {
  title: string;
  /** One or two lines on what is measured and how. */
  description: string;
  /** The network it needs; the shared one (without verifiers) when unset. */
  network?: BenchNetwork;
  /** Measures and returns the section's body: a table, or a line saying why it was skipped. */
  run(ctx: BenchContext): Promise<string>;
}

/** A section that starts what it measures itself (an anvil, say): no local network is started for it. */
export interface StandaloneBenchSection {
  title: string;
  /** One or two lines on what is measured and how. */
  description: string;
  standalone: true;
  /** Measures and returns the section's body. */
  run(ctx: StandaloneBenchContext): Promise<string>;
}
