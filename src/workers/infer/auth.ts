import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { createMiddleware } from "hono/factory";
import { hashApiKey, isApiKeyShaped } from "../../db/api-keys";
import { type ApiKey, apiKeys } from "../../db/schema";
import { refusal, VerityError } from "../../errors";
import { MinuteCounter } from "../../http/minute-counter";
import type { GatewayEnv } from "./gateway-env";

/**
 * How long an isolate trusts a key lookup. Every request would otherwise cost a D1 read; the
 * price is that a revoked key keeps working for at most this long in an isolate that saw it.
 */
export const KEY_CACHE_MS = 5_000;
const KEY_CACHE_MAX = 10_000;
const keyCache = new Map<string, { key: ApiKey | null; until: number }>();

/**
 * Requests refused for their key, per client IP per minute, before that IP is answered 429
 * without a lookup: a flood of made-up keys of the right form would otherwise cost a D1 read
 * each. Clients with a valid key are never counted.
 */
export const MAX_KEY_REFUSALS_PER_IP = 600;

const unauthorized = (message: string, code: string) =>
  new VerityError(message, {
    status: 401,
    type: "authentication_error",
    code,
    headers: { "www-authenticate": 'Bearer realm="verity"' },
  });

async function activeKey(
  db: D1Database,
  keyHash: string,
  now: number,
): Promise<ApiKey | undefined> {
  const cached = keyCache.get(keyHash);
  if (cached && cached.until > now) return cached.key ?? undefined;
  const [key] = await drizzle(db)
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
    .limit(1);
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  // An unknown key is remembered as unknown for as long, so one bad key sent again and again
  // costs one D1 read per isolate per KEY_CACHE_MS, not one per request.
  keyCache.set(keyHash, { key: key ?? null, until: now + KEY_CACHE_MS });
  return key;
}

/**
 * Middleware: resolves `Authorization: Bearer <key>` to an active key row, or answers 401; an IP
 * refused `maxRefusalsPerIp` times this minute is answered 429 before any lookup.
 */
export function requireApiKey(maxRefusalsPerIp = MAX_KEY_REFUSALS_PER_IP) {
  const keyRefusalsByIp = new MinuteCounter(maxRefusalsPerIp);
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const ip = c.req.header("cf-connecting-ip") ?? "unknown";
    const allowed = keyRefusalsByIp.check(ip);
    if (!allowed.allowed) {
      throw refusal(
        429,
        "rate_limit_exceeded",
        `IP ${ip} sent ${maxRefusalsPerIp} requests with no valid API key this minute. Retry in ${allowed.retryAfterSeconds}s.`,
        { headers: { "retry-after": String(allowed.retryAfterSeconds) } },
      );
    }
    const refuse = (message: string, code: string) => {
      keyRefusalsByIp.take(ip);
      return unauthorized(message, code);
    };
    const header = c.req.header("authorization");
    const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
    if (!match?.[1]) {
      throw refuse(
        "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
        "missing_api_key",
      );
    }
    // A string that is not of a key's form is refused before any lookup.
    const key = isApiKeyShaped(match[1])
      ? await activeKey(c.env.DB, await hashApiKey(match[1]), Date.now())
      : undefined;
    if (!key) throw refuse("Incorrect or revoked API key provided.", "invalid_api_key");
    c.set("apiKey", key);
    await next();
  });
}
