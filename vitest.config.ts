import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// A fixed, well-known test key (anvil's account #9): never used outside tests.
const TEST_INFERENCE_NODE_KEY =
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: { TEST_MIGRATIONS: migrations, INFERENCE_NODE_KEY: TEST_INFERENCE_NODE_KEY },
        },
      }),
    ],
    test: {
      include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      exclude: ["test/e2e/**", "src/workers/verify/**"],
      setupFiles: ["./test/apply-migrations.ts"],
    },
  };
});
