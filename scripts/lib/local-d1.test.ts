import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_NAME, executeD1 } from "./d1.ts";
import { applyLocalMigrations, holdLocalD1, withLocalD1 } from "./local-d1.ts";
import { runCommandOrFail } from "./run-command.ts";
import { wranglerSpec } from "./wrangler.ts";

const SCHEMA =
  "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name";

describe("local migrations, applied in process", () => {
  let ours: string;
  let wranglers: string;
  beforeAll(async () => {
    ours = await mkdtemp(path.join(tmpdir(), "verity-migrate-"));
    wranglers = await mkdtemp(path.join(tmpdir(), "verity-migrate-wrangler-"));
  });
  afterAll(async () => {
    await rm(ours, { recursive: true, force: true });
    await rm(wranglers, { recursive: true, force: true });
  });

  it("make the schema wrangler's own apply makes, in the file and with the bookkeeping wrangler reads", async () => {
    const applied = await applyLocalMigrations(ours);
    expect(applied).toContain("0000_init.sql");

    await runCommandOrFail(
      "wrangler d1 migrations apply",
      wranglerSpec([
        "d1",
        "migrations",
        "apply",
        DATABASE_NAME,
        "--local",
        "--persist-to",
        wranglers,
      ]),
    );
    const [schema] = await executeD1({ kind: "local", persistTo: ours }, SCHEMA);
    const [expected] = await executeD1({ kind: "local", persistTo: wranglers }, SCHEMA);
    expect(schema).toEqual(expected);

    // wrangler opens the same file and counts every migration as applied.
    const listed = await runCommandOrFail(
      "wrangler d1 migrations list",
      wranglerSpec(["d1", "migrations", "list", DATABASE_NAME, "--local", "--persist-to", ours]),
    );
    expect(listed.stdout).toMatch(/No migrations to apply/);
  });

  it("apply nothing twice: a second run finds every migration applied", async () => {
    expect(await applyLocalMigrations(ours)).toEqual([]);
    const [rows] = await executeD1(
      { kind: "local", persistTo: ours },
      "SELECT name, COUNT(*) AS n FROM d1_migrations GROUP BY name HAVING n > 1",
    );
    expect(rows).toEqual([]);
  });

  it("share one open database while it is held, and open afresh once the last hold is released", async () => {
    const same = (a: unknown) => withLocalD1(ours, async (b) => a === b);
    const first = await holdLocalD1(ours);
    const second = await holdLocalD1(ours);
    try {
      const db = await withLocalD1(ours, async (db) => db);
      expect(await same(db)).toBe(true);
      await second.release();
      await second.release(); // a second release of one hold is a no-op, not another's release
      expect(await same(db)).toBe(true);
      await first.release();
      expect(await same(db)).toBe(false);
    } finally {
      await first.release();
      await second.release();
    }
  });
});
