import { createMiddleware } from "hono/factory";
import { VerityError } from "../../errors";
import type { GatewayEnv } from "./gateway-env";

/** Charges one request to the key's bucket; over the limit answers 429 with `retry-after`. */
export const rateLimit = createMiddleware<GatewayEnv>(async (c, next) => {
  const key = c.get("apiKey");
  const limiter = c.env.RATE_LIMITER.get(c.env.RATE_LIMITER.idFromName(key.id));
  const decision = await limiter.take(key.rateLimitPerMinute);
  const headers = {
    "x-ratelimit-limit-requests": String(decision.limit),
    "x-ratelimit-remaining-requests": String(decision.remaining),
  };
  if (!decision.allowed) {
    throw new VerityError(
      `Rate limit reached for key ${key.id}: ${decision.limit} requests per minute. Retry in ${decision.retryAfterSeconds}s.`,
      {
        status: 429,
        type: "rate_limit_error",
        code: "rate_limit_exceeded",
        headers: { ...headers, "retry-after": String(decision.retryAfterSeconds) },
      },
    );
  }
  await next();
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
});
