/** What every bench section gets: a running local network and the run's settings. */
export interface BenchContext {
  gatewayUrl: string;
  apiKey: string;
  /** Measured time per row, after `warmupMs` of unmeasured load. */
  durationMs: number;
  warmupMs: number;
  /** Bound on requests per measured row. */
  maxRequests: number;
  /** Progress, to stderr: stdout holds only the report. */
  log(line: string): void;
  signal: AbortSignal;
}

/** One titled part of the bench report. Later issues add sections to the list in bench.ts. */
export interface BenchSection {
  title: string;
  /** One or two lines on what is measured and how. */
  description: string;
  /** Measures and returns the section's body: a table, or a line saying why it was skipped. */
  run(ctx: BenchContext): Promise<string>;
}
