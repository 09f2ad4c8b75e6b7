import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { createMiddleware } from "hono/factory";
import { hashApiKey } from "../../db/api-keys";
import { apiKeys } from "../../db/schema";
import { VerityError } from "../../errors";
import type { GatewayEnv } from "./gateway-env";

const unauthorized = (message: string, code: string) =>
  new VerityError(message, {
    status: 401,
    type: "authentication_error",
    code,
    headers: { "www-authenticate": 'Bearer realm="verity"' },
  });

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
  const keyHash = await hashApiKey(match[1]);
  const [key] = await drizzle(c.env.DB)
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
    .limit(1);
  if (!key) throw unauthorized("Incorrect or revoked API key provided.", "invalid_api_key");
  c.set("apiKey", key);
  await next();
});
