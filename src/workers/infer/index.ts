import { createGatewayApp } from "./app";
import { syncRegistryFromChain } from "./registry-sync";
import { sweepPendingRounds, sweepUnqueuedOutcomes } from "./rounds";

export { RateLimiter } from "../../durable/rate-limiter";
export { VerificationRound } from "../../durable/verification-round";

const app = createGatewayApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(
      syncRegistryFromChain(env).catch((err) =>
        console.error("verifier registry sync failed", err),
      ),
    );
    ctx.waitUntil(sweepPendingRounds(env));
    ctx.waitUntil(sweepUnqueuedOutcomes(env));
  },
} satisfies ExportedHandler<Env>;
