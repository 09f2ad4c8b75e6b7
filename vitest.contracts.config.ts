// The contract tests: plain Node (not workerd), each test file against its own anvil.
//   vitest run --config vitest.contracts.config.ts
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "node",
    include: ["contracts/test/**/*.test.ts"],
    // Each file starts anvil and sends real transactions: seconds, not milliseconds.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
