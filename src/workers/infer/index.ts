import { createGatewayApp } from "./app";
import { sweepPendingRounds } from "./rounds";

export { RateLimiter } from "../../durable/rate-limiter";
export { VerificationRound } from "../../durable/verification-round";

const app = createGatewayApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(sweepPendingRounds(env));
  },
} satisfies ExportedHandler<Env>;
