// `npm test` runs every suite in this one vitest invocation; each project can run alone:
//   npx vitest run --project gateway      (or verifier, settler, contracts, scripts, e2e)
// The workerd projects share one runtime per worker process (isolate: false) rather than start
// one per test file, which was most of the suite's time.
import { defineConfig } from "vitest/config";
import SlowFirstSequencer from "./test/slow-first-sequencer.ts";

export default defineConfig({
  test: {
    projects: [
      "./vitest.gateway.config.ts",
      "./vitest.verify.config.ts",
      "./vitest.settle.config.ts",
      "./vitest.contracts.config.ts",
      "./vitest.scripts.config.ts",
      "./test/e2e/vitest.config.ts",
    ],
    reporters: ["default", "./test/timing-reporter.ts"],
    // Three files at once on two cores: the network suites spend much of their time waiting on
    // processes, blocks and ticks. Measured back to back: 3 took 185 s of tests, 2 took 212 s.
    maxWorkers: 3,
    sequence: { sequencer: SlowFirstSequencer },
  },
});
