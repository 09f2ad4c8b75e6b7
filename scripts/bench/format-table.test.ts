import { expect, it } from "vitest";
import { fixed, formatTable } from "./format-table.ts";

it("aligns columns to the widest cell, numbers right and text left", () => {
  const table = formatTable(
    [{ title: "name", align: "left" }, { title: "req/s" }],
    [
      ["full", "95.0"],
      ["bare path", "1234.5"],
    ],
  );
  expect(table.split("\n")).toEqual([
    "  name        req/s",
    "  full         95.0",
    "  bare path  1234.5",
  ]);
});

it("shows '-' for a figure that could not be measured", () => {
  expect(fixed(Number.NaN)).toBe("-");
  expect(fixed(2.345, 2)).toBe("2.35");
});
