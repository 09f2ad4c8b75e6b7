import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerityError } from "../../src/errors.ts";
import { type D1Target, d1TargetArgs, executeD1, sqlInteger, sqlString } from "./d1.ts";

describe("sqlString", () => {
  it("doubles quotes, so a name cannot end the literal", () => {
    expect(sqlString("it's")).toBe("'it''s'");
    expect(sqlString("'; DROP TABLE api_keys; --")).toBe("'''; DROP TABLE api_keys; --'");
  });

  it("refuses NUL, where SQLite would cut the text", () => {
    expect(() => sqlString("a\0b")).toThrow(VerityError);
  });
});

describe("sqlInteger", () => {
  it("accepts safe integers only", () => {
    expect(sqlInteger(1_795_000_000_000)).toBe("1795000000000");
    expect(() => sqlInteger(1.5)).toThrow(VerityError);
    expect(() => sqlInteger(Number.NaN)).toThrow(VerityError);
  });
});

describe("d1TargetArgs", () => {
  it("selects the local database by its persistence directory, the remote one by environment", () => {
    expect(d1TargetArgs({ kind: "local", persistTo: "/s/wrangler" })).toEqual([
      "--local",
      "--persist-to",
      "/s/wrangler",
    ]);
    expect(d1TargetArgs({ kind: "remote" })).toEqual(["--remote"]);
    expect(d1TargetArgs({ kind: "remote", env: "production" })).toEqual([
      "--remote",
      "--env",
      "production",
    ]);
  });
});

describe("executeD1 against a local database", () => {
  let dir: string;
  let target: D1Target;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "verity-d1-"));
    target = { kind: "local", persistTo: dir };
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("returns the rows of each statement, and quoted text comes back as written", async () => {
    const awkward = `it's; -- "quoted" \n on two lines`;
    const [, , rows] = await executeD1(target, [
      "CREATE TABLE t (v TEXT)",
      `INSERT INTO t (v) VALUES (${sqlString(awkward)})`,
      "SELECT v FROM t",
    ]);
    expect(rows).toEqual([{ v: awkward }]);
  });

  it("turns a database error into a VerityError carrying D1's message", async () => {
    const failing = executeD1(target, "SELECT nope FROM t");
    await expect(failing).rejects.toBeInstanceOf(VerityError);
    await expect(failing).rejects.toThrow(/no such column: nope/);
  });

  it("hints at npm start when the local tables are missing", async () => {
    await expect(executeD1(target, "SELECT * FROM api_keys")).rejects.toThrow(
      /run `npm start` once/,
    );
  });
});
