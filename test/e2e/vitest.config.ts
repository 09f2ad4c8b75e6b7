// Node-side tests (plain vitest, not the workers pool):
// - "scripts": the local-network tooling in scripts/, against real wrangler and D1;
// - "e2e": the official OpenAI client against a real `npm start` (see global-setup.ts).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL("../..", import.meta.url));

export default defineConfig({
  root,
  test: {
    teardownTimeout: 60_000,
    projects: [
      {
        test: {
          name: "scripts",
          root,
          environment: "node",
          include: ["scripts/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "e2e",
          root,
          environment: "node",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
