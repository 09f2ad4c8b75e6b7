// The local-network tooling in scripts/ (npm start, keys, bench helpers), in plain Node, against
// real wrangler, D1 and anvil processes on 127.0.0.1.
import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "scripts",
    environment: "node",
    include: ["scripts/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
