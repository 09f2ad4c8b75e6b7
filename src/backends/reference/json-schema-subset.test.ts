import { describe, expect, it } from "vitest";
import { converterSchemas } from "../../../test/backends/json-schema-fixtures";
import {
  ANY_VALUE,
  compileSchema,
  FORMAT_SAMPLES,
  KNOWN_FORMAT_PATTERNS,
  NULL_NODE,
  numberText,
  type SchemaNode,
} from "./json-schema-subset";

function compiled(schema: unknown): SchemaNode {
  const result = compileSchema(schema);
  if (!result.ok) throw new Error(`refused at '${result.path}': ${result.reason}`);
  return result.node;
}

describe("compileSchema accepts", () => {
  it.each(converterSchemas())("what $name produces", ({ schema }) => {
    expect(compileSchema(schema)).toMatchObject({ ok: true });
  });

  it("{} and true as any value", () => {
    expect(compiled({})).toBe(ANY_VALUE);
    expect(compiled(true)).toBe(ANY_VALUE);
    expect(compiled({ description: "anything", nullable: true })).toBe(ANY_VALUE);
  });

  it("type arrays and nullable as a choice between the types", () => {
    expect(compiled({ type: ["string", "null"], maxLength: 3 })).toEqual({
      kind: "choice",
      options: [{ kind: "string", minLength: 0, maxLength: 3, maxWords: 6 }, NULL_NODE],
      smallest: 0,
    });
    expect(compiled({ type: "boolean", nullable: true })).toMatchObject({
      kind: "choice",
      options: [{ kind: "boolean" }, NULL_NODE],
    });
  });

  it("the type the keywords imply when 'type' is absent", () => {
    expect(compiled({ minLength: 2 })).toMatchObject({ kind: "string", minLength: 2 });
    expect(compiled({ properties: { a: { type: "null" } } })).toMatchObject({ kind: "object" });
    expect(compiled({ minimum: 5, maxItems: 2 })).toMatchObject({
      kind: "choice",
      options: [{ kind: "array" }, { kind: "number" }],
    });
  });

  it("enum and const values of the declared type, without duplicates", () => {
    expect(compiled({ type: "integer", enum: [1, 2.5, "1", 1, 3] })).toEqual({
      kind: "values",
      texts: ["1", "3"],
    });
    expect(compiled({ enum: [{ a: 1, b: [2] }, { b: [2], a: 1 }, null] })).toEqual({
      kind: "values",
      texts: ['{"a":1,"b":[2]}', "null"],
    });
    expect(compiled({ enum: ["a", "b"], const: "b" })).toEqual({ kind: "values", texts: ['"b"'] });
    expect(compiled({ type: "string", enum: ["a", null], nullable: true })).toEqual({
      kind: "values",
      texts: ['"a"', "null"],
    });
  });

  it("integers from 0 to 100, widened towards the bounds to 101 values where fewer lie there", () => {
    const integer = (extra: object) => compiled({ type: "integer", ...extra });
    expect(integer({})).toMatchObject({ first: 0, count: 101, multiple: 1, denominator: 1 });
    expect(integer({ minimum: 200 })).toMatchObject({ first: 200, count: 101 });
    expect(integer({ maximum: -5 })).toMatchObject({ first: -105, count: 101 });
    expect(integer({ minimum: -3, maximum: 3 })).toMatchObject({ first: -3, count: 7 });
    expect(integer({ exclusiveMinimum: 0.5, exclusiveMaximum: 3 })).toMatchObject({
      first: 1,
      count: 2,
    });
    expect(integer({ minimum: 0, exclusiveMinimum: true })).toMatchObject({ first: 1 });
    expect(integer({ multipleOf: 7, minimum: 1 })).toMatchObject({
      first: 1,
      count: 15,
      multiple: 7,
    });
    expect(integer({ multipleOf: 1000 })).toMatchObject({ first: 0, count: 11, multiple: 1000 });
    expect(integer({ minimum: -9007199254740991, maximum: 9007199254740991 })).toMatchObject({
      first: 0,
      count: 101,
    });
    expect(integer({ minimum: 9007199254740900 })).toMatchObject({
      first: 9007199254740900,
      count: 92,
    });
  });

  it("numbers with at most 2 decimals, or multiples of 1/2^j", () => {
    const number = (extra: object) => compiled({ type: "number", ...extra });
    expect(number({})).toMatchObject({ first: 0, count: 10_001, denominator: 100 });
    expect(number({ exclusiveMinimum: 0, maximum: 1 })).toMatchObject({ first: 1, count: 100 });
    expect(number({ minimum: 0.07, maximum: 0.29 })).toMatchObject({ first: 7, count: 23 });
    expect(number({ exclusiveMinimum: 0.07, exclusiveMaximum: 0.29 })).toMatchObject({
      first: 8,
      count: 21,
    });
    expect(number({ multipleOf: 0.25, minimum: -1, maximum: 1 })).toMatchObject({
      first: -4,
      count: 9,
      denominator: 4,
    });
    expect(number({ multipleOf: 5 })).toMatchObject({ multiple: 5, denominator: 1, count: 21 });
  });

  it("writes number values exactly, with integer arithmetic", () => {
    expect(numberText(5, 1, 100)).toBe("0.05");
    expect(numberText(-5, 1, 100)).toBe("-0.05");
    expect(numberText(150, 1, 100)).toBe("1.5");
    expect(numberText(-300, 1, 100)).toBe("-3");
    expect(numberText(0, 1, 100)).toBe("0");
    expect(numberText(3, 1, 8)).toBe("0.375");
    expect(numberText(-17, 1, 16)).toBe("-1.0625");
    expect(numberText(7, 3, 1)).toBe("21");
  });

  it("string formats, and zod's patterns next to them", () => {
    expect(compiled({ type: "string", format: "uuid" })).toEqual({
      kind: "format",
      format: "uuid",
    });
    expect(compiled({ format: "date", minLength: 10, maxLength: 10 })).toMatchObject({
      kind: "format",
    });
    expect(compiled({ format: "email", maxLength: 254 })).toMatchObject({ kind: "format" });
    // Every sample must look like what a validator of the format accepts.
    expect(FORMAT_SAMPLES.uuid.every((s) => /^[0-9a-f-]{36}$/.test(s))).toBe(true);
  });

  it("objects whose required keys come from a schema 'additionalProperties'", () => {
    const record = compiled({
      type: "object",
      propertyNames: { type: "string", enum: ["a", "b"] },
      additionalProperties: { type: "integer" },
      required: ["a", "b"],
    });
    expect(record).toMatchObject({
      kind: "object",
      properties: [
        { name: "a", keyText: '"a":', required: true, node: { kind: "number" } },
        { name: "b", keyText: '"b":', required: true, node: { kind: "number" } },
      ],
    });
  });

  it("property names that need escaping, in schema order", () => {
    const node = compiled({ properties: { 'say "hi"': {}, "tab\t": {}, z: {}, a: {} } });
    expect(node.kind === "object" && node.properties.map((p) => p.keyText)).toEqual([
      '"say \\"hi\\"":',
      '"tab\\t":',
      '"z":',
      '"a":',
    ]);
  });

  it("tuples in both the 2020-12 and the draft-7 form", () => {
    expect(
      compiled({ type: "array", prefixItems: [{ type: "string" }, {}], items: false }),
    ).toMatchObject({
      kind: "array",
      prefix: [{ kind: "string" }, ANY_VALUE],
      rest: null,
      maxItems: 2,
    });
    expect(
      compiled({ type: "array", items: [{ type: "null" }], additionalItems: { type: "boolean" } }),
    ).toMatchObject({ prefix: [NULL_NODE], rest: { kind: "boolean" }, maxItems: Infinity });
  });

  it("oneOf whose branches cannot overlap", () => {
    expect(compiled({ oneOf: [{ type: "string" }, { type: "integer" }] })).toMatchObject({
      kind: "choice",
    });
    expect(compiled({ oneOf: [{ const: "a" }, { enum: ["b", "c"] }] })).toMatchObject({
      kind: "choice",
    });
    const branch = (tag: string) => ({
      type: "object",
      properties: { tag: { const: tag }, x: { type: "string" } },
      required: ["tag"],
    });
    expect(compiled({ oneOf: [branch("a"), branch("b")] })).toMatchObject({ kind: "choice" });
  });

  it("recursive references, with the smallest option known for each choice", () => {
    const node = compiled({
      type: "object",
      properties: { next: { anyOf: [{ $ref: "#" }, { type: "null" }] } },
      required: ["next"],
    });
    if (node.kind !== "object") throw new Error("not an object");
    const next = node.properties[0]?.node;
    expect(next).toMatchObject({ kind: "choice", smallest: 1 });
    expect(next?.kind === "choice" && next.options[0]).toMatchObject({ kind: "ref", target: node });
    const list = compiled({
      $defs: { item: { type: "array", items: { $ref: "#/$defs/item" } } },
      $ref: "#/$defs/item",
    });
    expect(list).toMatchObject({ kind: "ref", target: { kind: "array" } });
  });

  it("a one-schema allOf as that schema", () => {
    expect(compiled({ allOf: [{ type: "null" }], description: "nothing" })).toBe(NULL_NODE);
  });
});

describe("compileSchema refuses", () => {
  const cases: [string, unknown, string, RegExp][] = [
    ["a pattern", { type: "string", pattern: "^a" }, "pattern", /'pattern' is not supported/],
    [
      "a nested pattern",
      { properties: { tags: { type: "array", items: { type: "string", pattern: "x" } } } },
      "properties.tags.items.pattern",
      /'pattern' is not supported by verity-ngram-1/,
    ],
    ["allOf of two", { allOf: [{}, {}] }, "allOf", /only with a single schema/],
    ["not", { not: { type: "null" } }, "not", /the keyword 'not' is not supported/],
    ["if", { if: {}, else: {} }, "if", /'if' is not supported/],
    ["patternProperties", { patternProperties: {} }, "patternProperties", /not supported/],
    ["minProperties", { type: "object", minProperties: 1 }, "minProperties", /not supported/],
    [
      "an unknown format",
      { type: "string", format: "uri" },
      "format",
      /the format 'uri' is not supported/,
    ],
    [
      "minItems above maxItems",
      { type: "array", minItems: 3, maxItems: 2 },
      "minItems",
      /'minItems' \(3\) is greater than 'maxItems' \(2\)/,
    ],
    ["minLength above maxLength", { minLength: 3, maxLength: 2 }, "minLength", /greater than/],
    ["an empty enum", { enum: [] }, "enum", /non-empty array/],
    ["an enum of no allowed type", { type: "string", enum: [1] }, "enum", /no value of 'enum'/],
    ["enum next to minLength", { enum: ["a"], minLength: 1 }, "minLength", /next to 'enum'/],
    ["type next to anyOf", { type: "string", anyOf: [{}] }, "type", /next to 'anyOf'/],
    ["type next to $ref", { $ref: "#", type: "object" }, "type", /next to '\$ref'/],
    [
      "a dangling $ref",
      { $ref: "#/$defs/missing" },
      "$ref",
      /'#\/\$defs\/missing', which does not exist/,
    ],
    ["a remote $ref", { $ref: "https://example.com/a.json" }, "$ref", /only references inside/],
    [
      "'required' names outside 'properties'",
      { type: "object", properties: { a: {} }, required: ["a", "x"] },
      "required",
      /'required' names 'x', which is not in 'properties'/,
    ],
    ["an unknown type", { type: "text" }, "type", /'text' is not a type/],
    ["an unknown type in a list", { type: ["string", 3] }, "type.1", /3 is not a type/],
    ["a decimal multipleOf", { type: "number", multipleOf: 0.1 }, "multipleOf", /0\.1/],
    [
      "bounds no integer satisfies",
      { type: "integer", exclusiveMinimum: 1, exclusiveMaximum: 2 },
      "",
      /no integer lies within/,
    ],
    ["a huge minimum", { type: "number", minimum: 1e300 }, "minimum", /2\^46/],
    [
      "a date shorter than its maxLength",
      { format: "date", maxLength: 5 },
      "maxLength",
      /date values of 10 characters/,
    ],
    [
      "a pattern beside a format that zod would not write there",
      { format: "date", pattern: "^2024-" },
      "pattern",
      /only as zod writes it beside 'format: date'/,
    ],
    [
      "a pattern that backtracks catastrophically, which is never run",
      { format: "uuid", pattern: "^([0-9a-f-]+)*[^0-9a-f-]$|." },
      "pattern",
      /not to arbitrary regular expressions/,
    ],
    ["uniqueItems", { type: "array", uniqueItems: true }, "uniqueItems", /at most one item/],
    ["false", false, "", /admits no value/],
    ["a false property", { properties: { x: false } }, "properties.x", /admits no value/],
    ["a nested $id", { properties: { a: { $id: "x" } } }, "properties.a.$id", /only at the root/],
    [
      "more minItems than a closed tuple has",
      { prefixItems: [{}], items: false, minItems: 2 },
      "minItems",
      /more than the 1 items/,
    ],
    [
      "propertyNames with a pattern",
      { properties: { a: {} }, propertyNames: { pattern: "^a" } },
      "propertyNames",
      /only as \{\}/,
    ],
    [
      "propertyNames that exclude a property",
      { properties: { a: {}, b: {} }, propertyNames: { enum: ["a"] } },
      "propertyNames",
      /does not allow the property 'b'/,
    ],
    ["a non-schema", "string", "", /must be an object or a boolean/],
    [
      "a schema nested too deeply",
      deeplyNested(100),
      `${"items.".repeat(63)}items`,
      /nests deeper than 64 levels/,
    ],
    ["a const nested too deeply", { const: deeplyNested(100) }, "const", /nests deeper/],
    [
      "a bad additionalProperties",
      { type: "object", additionalProperties: "yes" },
      "additionalProperties",
      /boolean or a schema/,
    ],
    [
      "an overlapping oneOf",
      { oneOf: [{ type: "string" }, { type: "string", maxLength: 3 }] },
      "oneOf",
      /branches 0 and 1 may overlap/,
    ],
    [
      "a required self-reference",
      { type: "object", properties: { next: { $ref: "#" } }, required: ["next"] },
      "properties.next",
      /no finite value/,
    ],
    [
      "a mutual recursion with no way out",
      {
        $defs: {
          a: { type: "object", properties: { b: { $ref: "#/$defs/b" } }, required: ["b"] },
          b: { type: "array", items: { $ref: "#/$defs/a" }, minItems: 1 },
        },
        $ref: "#/$defs/a",
      },
      "$defs.b.items",
      /no finite value/,
    ],
    [
      "a $ref to itself",
      { $defs: { a: { $ref: "#/$defs/a" } }, $ref: "#/$defs/a" },
      "$defs.a",
      /no finite value/,
    ],
    [
      "an anyOf branch with no finite value",
      {
        anyOf: [{ type: "null" }, { type: "array", items: { $ref: "#/anyOf/1" }, minItems: 1 }],
      },
      "anyOf.1.items",
      /no finite value/,
    ],
  ];

  it.each(cases)("%s", (_, schema, path, reason) => {
    const result = compileSchema(schema);
    expect(result).toMatchObject({ ok: false, path });
    expect(result.ok ? "" : result.reason).toMatch(reason);
  });
});

function deeplyNested(levels: number): unknown {
  let schema: unknown = {};
  for (let i = 0; i < levels; i++) schema = { items: schema };
  return schema;
}

describe("KNOWN_FORMAT_PATTERNS", () => {
  it("accept every value the decoder generates for their format", () => {
    for (const [format, patterns] of Object.entries(KNOWN_FORMAT_PATTERNS)) {
      for (const pattern of patterns) {
        const regex = new RegExp(pattern, "u");
        for (const sample of FORMAT_SAMPLES[format as keyof typeof FORMAT_SAMPLES]) {
          expect(regex.test(sample), `${format}: ${sample}`).toBe(true);
        }
      }
    }
  });
});

describe("compileSchema's bounds on work", () => {
  it("refuses a oneOf whose nested unions would take too many comparisons", () => {
    const refs = (to: string) => Array.from({ length: 60 }, () => ({ $ref: `#/$defs/${to}` }));
    const schema = {
      $defs: {
        a: { const: "a" },
        b: { const: "b" },
        A1: { anyOf: refs("a") },
        B1: { anyOf: refs("b") },
        A: { anyOf: refs("A1") },
        B: { anyOf: refs("B1") },
      },
      oneOf: [{ $ref: "#/$defs/A" }, { $ref: "#/$defs/B" }],
    };
    // Unbounded, this took 15 s; the step bound refuses it after 100,000 comparisons.
    expect(compileSchema(schema)).toMatchObject({
      ok: false,
      path: "oneOf",
      reason: expect.stringMatching(/nests too many unions/),
    });
  });

  it("refuses an enum or const value longer than one token may be", () => {
    expect(compileSchema({ const: "x".repeat(5_000) })).toMatchObject({
      ok: false,
      path: "const",
    });
    expect(compileSchema({ enum: ["short", "y".repeat(5_000)] })).toMatchObject({
      ok: false,
      path: "enum",
    });
  });
});
