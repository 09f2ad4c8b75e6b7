import { z } from "zod";
import { apiKeyPrefix, generateApiKey, hashApiKey, newApiKeyId } from "../../src/db/api-keys.ts";
import { notFound } from "../../src/errors.ts";
import { type D1Options, type D1Target, executeD1, sqlInteger, sqlString } from "./d1.ts";
import { toolFailure } from "./script-error.ts";

/** A key's name: printable text, as shown in listings. */
export const ApiKeyName = z
  .string()
  .trim()
  .min(1, "the name must not be empty")
  .max(64, "the name must be at most 64 characters")
  .regex(/^[^\p{Cc}\p{Cf}]+$/u, "the name must be printable text");

/** Requests per minute, within what the gateway's rate limiter accepts. */
export const RateLimitPerMinute = z.coerce
  .number()
  .int("the rate limit must be a whole number")
  .min(1, "the rate limit must be at least 1")
  .max(1_000_000, "the rate limit must be at most 1000000");

/** The ids `newApiKeyId` makes. */
export const ApiKeyId = z
  .string()
  .regex(/^key_[0-9a-f]{20}$/, "not a key id (key_ and 20 hex digits)");

/** An `api_keys` row as listings show it: everything but the hash. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  rateLimitPerMinute: number;
  createdAt: number;
  revokedAt: number | null;
}

const Row = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    rate_limit_per_minute: z.number(),
    created_at: z.number(),
    revoked_at: z.number().nullable(),
  })
  .transform(
    (row): ApiKeyRecord => ({
      id: row.id,
      name: row.name,
      prefix: row.prefix,
      rateLimitPerMinute: row.rate_limit_per_minute,
      createdAt: row.created_at,
      revokedAt: row.revoked_at,
    }),
  );

const COLUMNS = "id, name, prefix, rate_limit_per_minute, created_at, revoked_at";

function rowsOf(statement: Record<string, unknown>[] | undefined): ApiKeyRecord[] {
  const parsed = z.array(Row).safeParse(statement ?? []);
  if (!parsed.success) {
    throw toolFailure(
      `The api_keys table has an unexpected shape: ${parsed.error.message}`,
      "d1_shape",
    );
  }
  return parsed.data;
}

export interface NewApiKey {
  name: string;
  /** Omitted: the table's default. */
  rateLimitPerMinute?: number | undefined;
}

/** A key as created: `key` is the secret, returned this once and stored only as its hash. */
export interface CreatedApiKey {
  key: string;
  record: ApiKeyRecord;
}

/** Creates a new API key in `target`'s database. */
export async function createApiKey(
  target: D1Target,
  input: NewApiKey,
  options: D1Options = {},
): Promise<CreatedApiKey> {
  const key = generateApiKey();
  const record = await insertApiKey(target, { id: newApiKeyId(), key, ...input }, options);
  return { key, record };
}

/**
 * Stores `key` under `id` unless a key with that id exists already, and returns the row as it
 * now is (a key stored earlier keeps its name, limit and revocation). `options.alongside` are
 * statements to run first in the same wrangler call: each call starts a workerd of its own, and
 * two at once on one local database can fail with SQLITE_BUSY.
 */
export async function insertApiKey(
  target: D1Target,
  input: NewApiKey & { id: string; key: string },
  options: D1Options & { alongside?: readonly string[] } = {},
): Promise<ApiKeyRecord> {
  const id = ApiKeyId.parse(input.id);
  const name = ApiKeyName.parse(input.name);
  const columns = ["id", "name", "key_hash", "prefix", "created_at"];
  const values = [
    sqlString(id),
    sqlString(name),
    sqlString(await hashApiKey(input.key)),
    sqlString(apiKeyPrefix(input.key)),
    sqlInteger(Date.now()),
  ];
  if (input.rateLimitPerMinute !== undefined) {
    columns.push("rate_limit_per_minute");
    values.push(sqlInteger(RateLimitPerMinute.parse(input.rateLimitPerMinute)));
  }
  const results = await executeD1(
    target,
    [
      ...(options.alongside ?? []),
      `INSERT INTO api_keys (${columns.join(", ")}) VALUES (${values.join(", ")}) ON CONFLICT (id) DO NOTHING`,
      `SELECT ${COLUMNS} FROM api_keys WHERE id = ${sqlString(id)}`,
    ],
    options,
  );
  const [record] = rowsOf(results.at(-1));
  if (!record) throw toolFailure(`Key ${id} was not stored.`, "d1_shape");
  return record;
}

/** Every key, oldest first. */
export async function listApiKeys(
  target: D1Target,
  options: D1Options = {},
): Promise<ApiKeyRecord[]> {
  const [rows] = await executeD1(
    target,
    `SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`,
    options,
  );
  return rowsOf(rows);
}

/**
 * Revokes key `id` at once (the gateway checks revocation on every request). Revoking a revoked
 * key changes nothing and reports `alreadyRevoked`.
 */
export async function revokeApiKey(
  target: D1Target,
  id: string,
  options: D1Options = {},
): Promise<{ record: ApiKeyRecord; alreadyRevoked: boolean }> {
  const keyId = sqlString(ApiKeyId.parse(id));
  const [before, , after] = await executeD1(
    target,
    [
      `SELECT ${COLUMNS} FROM api_keys WHERE id = ${keyId}`,
      `UPDATE api_keys SET revoked_at = ${sqlInteger(Date.now())} WHERE id = ${keyId} AND revoked_at IS NULL`,
      `SELECT ${COLUMNS} FROM api_keys WHERE id = ${keyId}`,
    ],
    options,
  );
  const [previous] = rowsOf(before);
  const [record] = rowsOf(after);
  if (!previous || !record) throw notFound(`No API key with id ${id}.`, "api_key_not_found");
  return { record, alreadyRevoked: previous.revokedAt !== null };
}
