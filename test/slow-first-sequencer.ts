// Starts the slowest test files first, whatever vitest's results cache says: a clean clone (CI)
// has no cache, and a file of a minute or two that starts last sets the suite's wall time.
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Slowest first, as `npm test` reports them on 2 cores, with the files that run a local network
 * (mostly waiting, and starting one costs ~13 CPU-s) spread between CPU-bound ones, so that the
 * three workers never start networks all at once beside the e2e network and the static checks.
 */
const SLOWEST = [
  "scripts/lib/local-network-crash.test.ts",
  "src/workers/verify/co-sign-batch.test.ts",
  "src/workers/settle/tree-scale.test.ts",
  "src/durable/verification-round.test.ts",
  "scripts/lib/local-network.test.ts",
  "src/durable/settler.test.ts",
  "scripts/lib/local-network-faulty.test.ts",
  "scripts/lib/local-d1.test.ts",
];

const rank = (spec: TestSpecification) => {
  const i = SLOWEST.findIndex((file) => spec.moduleId.endsWith(file));
  return i === -1 ? SLOWEST.length : i;
};

export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // Array.prototype.sort is stable: the rest keep vitest's own order.
    return [...(await super.sort(files))].sort((a, b) => rank(a) - rank(b));
  }
}
