import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { createMiddleware } from "hono/factory";
import { hashApiKey, isApiKeyShaped } from "../../db/api-keys";
import { type ApiKey, apiKeys } from "../../db/schema";
import { VerityError } from "../../errors";
import type { GatewayEnv } from "./gateway-env";

/**
 * How long an isolate trusts a key lookup. Every request would otherwise cost a D1 read; the
 * price is that a revoked key keeps working for at most this long in an isolate that saw it.
 */
export const KEY_CACHE_MS = 5_000;
const KEY_CACHE_MAX = 10_000;
const keyCache = new Map<string, { key: ApiKey | null; until: number }>();

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

/** Resolves `Authorization: Bearer <key>` to an active key row, or answers 401. */
export const requireApiKey = createMiddleware<GatewayEnv>(async (c, next) => {
  const header = c.req.header("authorization");
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!match?.[1]) {
    throw unauthorized(
      "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
      "missing_api_key",
    );
  }
  // A string that is not of a key's form is refused before any lookup.
  const key = isApiKeyShaped(match[1])
    ? await activeKey(c.env.DB, await hashApiKey(match[1]), Date.now())
    : undefined;
  if (!key) throw unauthorized("Incorrect or revoked API key provided.", "invalid_api_key");
  c.set("apiKey", key);
  await next();
});
