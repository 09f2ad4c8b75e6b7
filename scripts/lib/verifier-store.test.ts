import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { getAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerityError } from "../../src/errors.ts";
import { type D1Target, executeD1 } from "./d1.ts";
import { applyLocalMigrations, holdLocalD1 } from "./local-d1.ts";
import { verifierRegistrationStatements } from "./verifier-store.ts";

const ONE = getAddress("0x8f7d6a3e9b8a0c2c5f4e1d3b2a9c8e7f6d5c4b3a");
const TWO = getAddress("0x1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d");
const ROWS = "SELECT address, url, status, registered_at, last_seen_at FROM verifiers ORDER BY url";

describe("verifier registration in a local D1 with the project's migrations", () => {
  let dir: string;
  let target: D1Target;
  let database: { release(): Promise<void> } | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "verity-verifiers-"));
    target = { kind: "local", persistTo: dir };
    // One database instance for the whole file rather than one per statement.
    database = await holdLocalD1(dir);
    await applyLocalMigrations(dir);
  });
  afterAll(async () => {
    await database?.release();
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (statements: string[]) =>
    (await executeD1(target, [...statements, ROWS])).at(-1);

  it("registers checksummed and active; again, it re-points and re-activates, keeping registered_at and forgetting the last heartbeat", async () => {
    const lower = ONE.toLowerCase() as `0x${string}`;
    expect(
      await run(
        verifierRegistrationStatements(
          [
            { address: lower, url: "http://127.0.0.1:8788" },
            { address: TWO, url: "http://127.0.0.1:8789" },
          ],
          [],
          1_000,
        ),
      ),
    ).toEqual([
      {
        address: ONE,
        url: "http://127.0.0.1:8788",
        status: "active",
        registered_at: 1_000,
        last_seen_at: null,
      },
      {
        address: TWO,
        url: "http://127.0.0.1:8789",
        status: "active",
        registered_at: 1_000,
        last_seen_at: null,
      },
    ]);

    // A heartbeat of an earlier run, then a retirement, then this run registers ONE elsewhere.
    await executeD1(target, `UPDATE verifiers SET last_seen_at = 1500`);
    await run(verifierRegistrationStatements([], [ONE]));
    expect(
      await run(
        verifierRegistrationStatements(
          [{ address: ONE, url: "http://127.0.0.1:9001" }],
          [TWO],
          2_000,
        ),
      ),
    ).toEqual([
      {
        address: TWO,
        url: "http://127.0.0.1:8789",
        status: "removed",
        registered_at: 1_000,
        last_seen_at: 1_500,
      },
      {
        address: ONE,
        url: "http://127.0.0.1:9001",
        status: "active",
        registered_at: 1_000,
        last_seen_at: null,
      },
    ]);
  });

  it("makes no statement for nothing, and refuses a URL the coordinator could not send tasks to", () => {
    expect(verifierRegistrationStatements([], [])).toEqual([]);
    expect(() =>
      verifierRegistrationStatements([{ address: ONE, url: "ftp://127.0.0.1/" }]),
    ).toThrow(VerityError);
  });
});
