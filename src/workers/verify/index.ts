import { createVerifierApp } from "./app";
import { ensureHeartbeat } from "./ensure-heartbeat";

export { HeartbeatScheduler } from "./heartbeat-scheduler";
export { SigningLedger } from "./signing-ledger";

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
