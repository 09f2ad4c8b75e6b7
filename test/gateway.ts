import { env, exports } from "cloudflare:workers";
import { apiKeyPrefix, generateApiKey, hashApiKey, newApiKeyId } from "../src/db/api-keys";

/** Inserts a fresh API key straight into D1 and returns it with its id. */
export async function createTestKey(options: { rateLimitPerMinute?: number; name?: string } = {}) {
  const key = generateApiKey();
  const id = newApiKeyId();
  await env.DB.prepare(
    "insert into api_keys (id, name, key_hash, prefix, rate_limit_per_minute, created_at) values (?, ?, ?, ?, ?, ?)",
  )
    .bind(
      id,
      options.name ?? "test",
      await hashApiKey(key),
      apiKeyPrefix(key),
      options.rateLimitPerMinute ?? 10_000,
      Date.now(),
    )
    .run();
  return { key, id };
}

/** Calls the gateway worker the way a client would. */
export function gatewayFetch(
  path: string,
  init: RequestInit & { key?: string; json?: unknown } = {},
) {
  const headers = new Headers(init.headers);
  if (init.key) headers.set("authorization", `Bearer ${init.key}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  return exports.default.fetch(
    new Request(`http://gateway.test${path}`, { ...init, headers, body }),
  );
}

/** Parses a Server-Sent Events body into its `data:` payloads. */
export async function readSse(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .flatMap((block) => block.split("\n").filter((line) => line.startsWith("data: ")))
    .map((line) => line.slice("data: ".length));
}
