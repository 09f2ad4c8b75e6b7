import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { VerityError } from "../../errors";
import { MinuteCounter } from "../../http/minute-counter";
import type { GatewayEnv } from "./gateway-env";

export interface PublicLimitOptions {
  /** Requests per minute per client IP on the routes that take no API key. */
  perIpPerMinute?: number;
  /** Heartbeats and verdicts per minute per verifier address, once its signature checks out. */
  perVerifierPerMinute?: number;
}

// A verifier heartbeats every 10 s and sends late verdicts only for rounds that moved on
// without it; a whole local network shares one IP.
const DEFAULT_PER_IP = 600;
const DEFAULT_PER_VERIFIER = 120;

const limited = (what: string, limit: number, retryAfterSeconds: number) =>
  new VerityError(
    `Rate limit reached for ${what}: ${limit} requests per minute. Retry in ${retryAfterSeconds}s.`,
    {
      status: 429,
      type: "rate_limit_error",
      code: "rate_limit_exceeded",
      headers: { "retry-after": String(retryAfterSeconds) },
    },
  );

/**
 * The limits of the gateway's public routes (heartbeats, late verdicts): per client IP before
 * the body is read, and per verifier address once a signature names one. Both are counted in
 * memory (see MinuteCounter).
 */
export function publicLimits(options: PublicLimitOptions = {}) {
  const perIp = new MinuteCounter(options.perIpPerMinute ?? DEFAULT_PER_IP);
  const perVerifier = new MinuteCounter(options.perVerifierPerMinute ?? DEFAULT_PER_VERIFIER);

  /** Middleware: charges the client's IP (Cloudflare's `cf-connecting-ip`). */
  const byIp = createMiddleware<GatewayEnv>(async (c, next) => {
    const ip = c.req.header("cf-connecting-ip") ?? "unknown";
    const taken = perIp.take(ip);
    if (!taken.allowed) throw limited(`IP ${ip}`, perIp.limit, taken.retryAfterSeconds);
    c.set("chargeVerifier", (address: string) => {
      const charged = perVerifier.take(address.toLowerCase());
      if (!charged.allowed) {
        throw limited(`verifier ${address}`, perVerifier.limit, charged.retryAfterSeconds);
      }
    });
    await next();
  });
  return { byIp };
}

/** Charges a verifier's request to its address; throws the 429 when it is over its limit. */
export function chargeVerifier(c: Context<GatewayEnv>, address: string): void {
  c.get("chargeVerifier")?.(address);
}
