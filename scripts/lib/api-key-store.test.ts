import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey } from "../../src/db/api-keys.ts";
import { VerityError } from "../../src/errors.ts";
import {
  ApiKeyName,
  createApiKey,
  insertApiKey,
  listApiKeys,
  RateLimitPerMinute,
  revokeApiKey,
} from "./api-key-store.ts";
import { type D1Target, executeD1 } from "./d1.ts";
import { applyLocalMigrations, holdLocalD1 } from "./local-d1.ts";

describe("API keys in a local D1 with the project's migrations", () => {
  let dir: string;
  let target: D1Target;
  let database: { release(): Promise<void> } | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "verity-keys-"));
    target = { kind: "local", persistTo: dir };
    // One database instance for the whole file rather than one per statement.
    database = await holdLocalD1(dir);
    await applyLocalMigrations(dir);
  });
  afterAll(async () => {
    await database?.release();
    await rm(dir, { recursive: true, force: true });
  });

  it("creates, lists and revokes a key; only the key's hash is stored", async () => {
    const name = "Alice's laptop; -- not SQL";
    const { key, record } = await createApiKey(target, { name, rateLimitPerMinute: 120 });
    expect(key).toMatch(/^vty_[0-9A-Za-z]{32}$/);
    expect(record).toMatchObject({
      name,
      prefix: key.slice(0, 10),
      rateLimitPerMinute: 120,
      revokedAt: null,
    });

    const [rows] = await executeD1(
      target,
      `SELECT key_hash FROM api_keys WHERE id = '${record.id}'`,
    );
    expect(rows).toEqual([{ key_hash: await hashApiKey(key) }]);

    expect(await listApiKeys(target)).toContainEqual(record);

    const revoked = await revokeApiKey(target, record.id);
    expect(revoked.alreadyRevoked).toBe(false);
    expect(revoked.record.revokedAt).toBeGreaterThanOrEqual(record.createdAt);

    const again = await revokeApiKey(target, record.id);
    expect(again).toEqual({ record: revoked.record, alreadyRevoked: true });
  });

  it("uses the table's default rate limit when none is given", async () => {
    const { record } = await createApiKey(target, { name: "defaulted" });
    expect(record.rateLimitPerMinute).toBe(600);
  });

  it("stores a given key under a given id once, keeping the first row on later calls", async () => {
    const input = {
      id: "key_0123456789abcdef0123",
      key: "vty_0123456789ABCDEFGHIJabcdefghij0123",
      name: "dev",
    };
    const first = await insertApiKey(target, input);
    const second = await insertApiKey(target, { ...input, name: "renamed", rateLimitPerMinute: 5 });
    expect(second).toEqual(first);
  });

  it("answers 404 for revoking a key that does not exist", async () => {
    const missing = revokeApiKey(target, "key_ffffffffffffffffffff");
    await expect(missing).rejects.toBeInstanceOf(VerityError);
    await expect(missing).rejects.toMatchObject({ status: 404, code: "api_key_not_found" });
  });
});

describe("validation", () => {
  it("takes printable names of 1 to 64 characters, trimmed", () => {
    expect(ApiKeyName.parse("  ci runner  ")).toBe("ci runner");
    expect(ApiKeyName.safeParse("").success).toBe(false);
    expect(ApiKeyName.safeParse("x".repeat(65)).success).toBe(false);
    expect(ApiKeyName.safeParse("bell\u0007").success).toBe(false);
    expect(ApiKeyName.safeParse("new\nline").success).toBe(false);
  });

  it("takes rate limits the gateway's limiter accepts: whole numbers from 1 to 1000000", () => {
    expect(RateLimitPerMinute.parse("120")).toBe(120);
    for (const bad of ["0", "-1", "1.5", "1000001", "many"]) {
      expect(RateLimitPerMinute.safeParse(bad).success).toBe(false);
    }
  });
});
