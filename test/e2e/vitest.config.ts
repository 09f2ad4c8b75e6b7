// The end-to-end tests: the official OpenAI client against one real `npm start`, which
// global-setup.ts starts on a temporary state directory with short intervals and stops after.
import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "e2e",
    environment: "node",
    include: ["**/*.test.ts"],
    globalSetup: ["./global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
