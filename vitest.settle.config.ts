// The settler's tests, run inside workerd with wrangler.settle.toml, against a real anvil that
// vitest.settle.setup.ts starts (Node side) with the contracts deployed:
//   npx vitest run --project settler
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import { SETTLER_KEY } from "./test/settle/keys.ts";

// wrangler reads required secrets from the environment; the test key satisfies it quietly.
process.env.SETTLER_KEY ??= SETTLER_KEY;

export default defineProject(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest((ctx) => ({
        wrangler: { configPath: "./wrangler.settle.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            SETTLER_KEY,
            RPC_URL: ctx.inject("settleRpcUrl"),
            CHAIN_ID: "31337",
            LEDGER_ADDRESS: ctx.inject("settleLedger"),
            REGISTRY_ADDRESS: ctx.inject("settleRegistry"),
            // Small batches, so a backlog spans several; a lost transaction is re-sent at once.
            BATCH_SIZE: "4",
            CONFIRMATIONS: "2",
            RESUBMIT_AFTER_MS: "0",
          },
          // A test producer for the consumer's own queue, and quick retries, so a poison
          // message reaches the dead-letter queue within a test.
          queueProducers: { TEST_OUTCOMES_QUEUE: { queueName: "verified-inferences" } },
          queueConsumers: {
            "verified-inferences": {
              maxBatchSize: 10,
              maxBatchTimeout: 0.1,
              maxRetries: 2,
              deadLetterQueue: "verified-inferences-dlq",
            },
            "verified-inferences-dlq": { maxBatchSize: 10, maxBatchTimeout: 0.1, maxRetries: 2 },
          },
        },
      })),
    ],
    test: {
      name: "settler",
      include: ["src/workers/settle/**/*.test.ts", "src/durable/settler.test.ts"],
      globalSetup: ["./vitest.settle.setup.ts"],
      setupFiles: ["./test/apply-migrations.ts"],
      // A workerd per vitest worker, not one per file. One chain and one settler key: only
      // settler.test.ts sends transactions, so files may run side by side.
      isolate: false,
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  };
});
