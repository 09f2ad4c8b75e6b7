// The gateway's tests (and the shared protocol, backends and Durable Objects), inside workerd
// with wrangler.toml and the real D1 migrations.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";

// A fixed, well-known test key (anvil's account #9): never used outside tests.
// anvil's account #7: the coordinator that signs verification tasks in tests.
const TEST_COORDINATOR_KEY = "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356";
const TEST_INFERENCE_NODE_KEY =
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";

// wrangler reads required secrets from the environment; the tests' own keys satisfy it quietly.
process.env.INFERENCE_NODE_KEY ??= TEST_INFERENCE_NODE_KEY;
process.env.COORDINATOR_KEY ??= TEST_COORDINATOR_KEY;

export default defineProject(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            INFERENCE_NODE_KEY: TEST_INFERENCE_NODE_KEY,
            COORDINATOR_KEY: TEST_COORDINATOR_KEY,
            // Short rounds: a silent verifier's task gives up quickly, so tests stay fast.
            ROUND_DEADLINE_MS: "1500",
            // One retry of silent members (3 s) before inconclusive, not four (45 s).
            MAX_SILENCE_RETRIES: "1",
          },
        },
      }),
    ],
    test: {
      name: "gateway",
      include: ["src/**/*.test.ts", "packages/protocol/src/**/*.test.ts", "test/**/*.test.ts"],
      exclude: [
        "test/e2e/**",
        "src/workers/verify/**",
        "src/workers/settle/**",
        "src/durable/settler.test.ts",
      ],
      setupFiles: ["./test/apply-migrations.ts"],
      // A workerd per vitest worker rather than one per file (about 3 s each). Files in one
      // workerd share its D1, so the setup file empties it before each file.
      isolate: false,
    },
  };
});
