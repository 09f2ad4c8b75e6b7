import { keccak256 } from "viem";
import { describe, expect, it } from "vitest";
import { canonicalJson, hashCanonical, JsonString } from "./canonical";
import { ProtocolError } from "./protocol-error";

describe("canonicalJson", () => {
  it("sorts keys by UTF-16 code units at every level, so an astral emoji sorts before U+FB33", () => {
    const value = {
      "\uFB33": 1,
      "😀": 2,
      "€": 3,
      ö: 4,
      "\u0080": 5,
      "1": 6,
      "\r": 7,
      b: { z: 1, a: [{ y: 1, x: 2 }] },
    };
    expect(canonicalJson(value)).toBe(
      '{"\\r":7,"1":6,"b":{"a":[{"x":2,"y":1}],"z":1},"\u0080":5,"ö":4,"€":3,"😀":2,"\uFB33":1}',
    );
  });

  it("gives the same text whatever the insertion order of keys", () => {
    expect(canonicalJson({ a: 1, b: [1, 2], c: null })).toBe(
      canonicalJson({ c: null, b: [1, 2], a: 1 }),
    );
  });

  it("prints numbers as ECMAScript does: 1e21 → 1e+21, -0 → 0, 1.0 → 1, 0.1 stays 0.1", () => {
    expect(
      canonicalJson([1e21, 1e20, -0, 1.0, 0.1, 1e-7, 0.000001, 0.30000000000000004, 5e-324]),
    ).toBe("[1e+21,100000000000000000000,0,1,0.1,1e-7,0.000001,0.30000000000000004,5e-324]");
  });

  it("escapes only the quote, the backslash and control characters, and leaves other Unicode raw", () => {
    expect(canonicalJson('"\\/\b\t\n\f\r\u0000\u001f\u007f\u2028é🚀')).toBe(
      '"\\"\\\\/\\b\\t\\n\\f\\r\\u0000\\u001f\u007f\u2028é🚀"',
    );
  });

  it("writes no whitespace and keeps array order", () => {
    expect(canonicalJson({ list: [3, 1, 2], t: true, f: false, n: null, s: "" })).toBe(
      '{"f":false,"list":[3,1,2],"n":null,"s":"","t":true}',
    );
  });

  it("accepts the same object twice when it is not a cycle", () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });

  it("accepts objects without a prototype", () => {
    const bare = Object.assign(Object.create(null) as Record<string, number>, { b: 2, a: 1 });
    expect(canonicalJson(bare)).toBe('{"a":1,"b":2}');
  });

  const refused: [string, unknown, string | null][] = [
    ["NaN", { a: Number.NaN }, "a"],
    ["Infinity", [1, Number.POSITIVE_INFINITY], "1"],
    ["-Infinity", Number.NEGATIVE_INFINITY, null],
    ["undefined inside an array", [1, undefined], "1"],
    ["undefined as an object value", { a: { b: undefined } }, "a.b"],
    ["undefined at the top", undefined, null],
    ["a hole in a sparse array", Object.assign(new Array(3), { 0: 1, 2: 3 }), "1"],
    ["a bigint", { n: 1n }, "n"],
    ["a function", { f: () => 1 }, "f"],
    ["a symbol", [Symbol("s")], "0"],
    ["a Date (toJSON would hide it)", { at: new Date(0) }, "at"],
    ["a Map", { m: new Map() }, "m"],
    ["a lone surrogate in a value", { s: "a\uD800b" }, "s"],
    ["a lone surrogate in a key", { "\uDC00": 1 }, null],
  ];
  it.each(refused)("refuses %s with a ProtocolError naming the path", (_, value, path) => {
    const error = (() => {
      try {
        canonicalJson(value);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ reason: "invalid_json_value", path });
  });

  it("refuses a cycle instead of looping", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    expect(() => canonicalJson(cyclic)).toThrow(/self\.back is a circular reference/);
  });
});

describe("hashCanonical", () => {
  it("is keccak256 of the UTF-8 bytes of the canonical text", () => {
    // {"a":"é","b":1} spelled out byte by byte: é is C3 A9 in UTF-8.
    const bytes = new Uint8Array([
      0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0xa9, 0x22, 0x2c, 0x22, 0x62, 0x22, 0x3a, 0x31,
      0x7d,
    ]);
    expect(hashCanonical({ b: 1, a: "é" })).toBe(keccak256(bytes));
  });

  it("gives different hashes to values that differ only in JSON type", () => {
    expect(hashCanonical({})).not.toBe(hashCanonical([]));
    expect(hashCanonical(1)).not.toBe(hashCanonical("1"));
    expect(hashCanonical(null)).not.toBe(hashCanonical("null"));
  });
});

describe("JsonString", () => {
  it("accepts well-formed text including astral characters and refuses lone surrogates", () => {
    expect(JsonString.safeParse("ok 🚀").success).toBe(true);
    expect(JsonString.safeParse("\uD83D").success).toBe(false);
    expect(JsonString.safeParse("x\uDE80").success).toBe(false);
  });
});
