import { createVerifierApp } from "./app";
import { ensureHeartbeat } from "./ensure-heartbeat";

export { CosignLedger } from "./cosign-ledger";
export { HeartbeatScheduler } from "./heartbeat-scheduler";

const app = createVerifierApp();

export default {
  fetch(request, env, ctx) {
    ctx.waitUntil(ensureHeartbeat(env));
    return app.fetch(request, env, ctx);
  },
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(ensureHeartbeat(env, { force: true }));
  },
} satisfies ExportedHandler<VerifyEnv>;
