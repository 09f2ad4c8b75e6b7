import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";

// Well-known anvil test keys, never used outside tests: #8 is the verifier, #7 the
// coordinator, #9 the inference node (the gateway tests' INFERENCE_NODE_KEY).
const TEST_VERIFIER_KEY = "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97";
const TEST_COORDINATOR_ADDRESS = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955";
const TEST_INFERENCE_NODES = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";

// wrangler reads required secrets from the environment; the test key satisfies it quietly.
process.env.VERIFIER_KEY ??= TEST_VERIFIER_KEY;

/** The verifier worker's tests, run inside workerd with wrangler.verify.toml. */
export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.verify.toml" },
      miniflare: {
        bindings: {
          VERIFIER_KEY: TEST_VERIFIER_KEY,
          COORDINATOR_ADDRESS: TEST_COORDINATOR_ADDRESS,
          INFERENCE_NODES: TEST_INFERENCE_NODES,
          COORDINATOR_URL: "http://coordinator.test",
          PUBLIC_URL: "http://verifier.test",
        },
        // Heartbeats fire from real alarms in the background; tests that check them intercept
        // fetch, and anything else gets this answer rather than a DNS lookup.
        outboundService: () => new Response("no network in tests", { status: 503 }),
      },
    }),
  ],
  test: {
    name: "verifier",
    include: ["src/workers/verify/**/*.test.ts"],
    // A workerd per vitest worker, not one per file.
    isolate: false,
  },
});
