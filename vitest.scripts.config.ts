// The local-network tooling in scripts/ (npm start, keys, bench helpers), in plain Node, against
// real wrangler, D1 and anvil processes on 127.0.0.1. Also the WebAssembly keccak's test, which
// runs in workerd with the other protocol tests: here it loads the module as Node and browsers do.
import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "scripts",
    environment: "node",
    include: ["scripts/**/*.test.ts", "packages/protocol/src/keccak256.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
