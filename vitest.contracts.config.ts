// The contract tests: plain Node (not workerd), each test file against its own anvil.
//   npx vitest run --project contracts
import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "contracts",
    environment: "node",
    include: ["contracts/test/**/*.test.ts"],
    // Each file starts anvil and sends real transactions: seconds, not milliseconds.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
