import Ajv from "ajv";
import Ajv2020 from "ajv/dist/2020";
import canonicalize from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { converterSchemas } from "../../../test/backends/json-schema-fixtures";
import { TEST_WORDS, wordSource } from "../../../test/backends/word-source";
import { ANY_OBJECT, decodeJson, MAX_FREE_DEPTH } from "./decode-json";
import { compileSchema, type SchemaNode } from "./json-schema-subset";
import type { Piece } from "./piece";
import { Xoshiro128 } from "./prng";

// Fixed, so that a run of `npm test` is reproducible and cannot turn red by luck; each property
// held over 9,000 random cases when this was written (edit the seed to explore more).
const PROPERTY_SEED = 20_261_129;

// ajv's code generation (new Function) is allowed in the vitest workerd pool, so the
// validator runs here, next to the code it checks. Formats are checked strictly (RFC 3339
// full-date/full-time with an offset, RFC 4122 uuid, a dot-atom email).
const FORMAT_CHECKS = {
  date: /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])$/,
  time: /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/,
  "date-time":
    /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/,
  email:
    /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
} as const;
type Format = keyof typeof FORMAT_CHECKS;
const FORMATS = Object.keys(FORMAT_CHECKS) as Format[];

function withFormats<T extends Ajv>(ajv: T): T {
  for (const format of FORMATS) ajv.addFormat(format, FORMAT_CHECKS[format]);
  return ajv;
}
// Unoptimised code compiles in half the time, and each property run compiles a new schema.
const AJV_OPTIONS = { strict: false, code: { optimize: false } } as const;
const ajv2020 = withFormats(new Ajv2020(AJV_OPTIONS));
const ajv07 = withFormats(new Ajv(AJV_OPTIONS));

function compiled(schema: unknown): SchemaNode {
  const result = compileSchema(schema);
  if (!result.ok) throw new Error(`refused at '${result.path}': ${result.reason}`);
  return result.node;
}

/** The pieces for `node` with the test source seeded `sourceSeed` and the rng seeded `seed`. */
function decode(
  node: SchemaNode,
  seed: number,
  sourceSeed = seed,
  words: readonly string[] = TEST_WORDS,
): Piece[] {
  return [...decodeJson(node, wordSource(sourceSeed, words), Xoshiro128.fromSeedWords([seed]))];
}
const textOf = (pieces: readonly Piece[]) => pieces.map((p) => p.token).join("");

/** Checks what every piece promises: logprobs ≤ 0, alternatives listed, forced ones plain. */
function checkPieces(pieces: readonly Piece[]): void {
  for (const piece of pieces) {
    expect(piece.token.length).toBeGreaterThan(0);
    expect(piece.logprob).toBeLessThanOrEqual(0);
    expect(piece.top_logprobs.length).toBeGreaterThan(0);
    for (const top of piece.top_logprobs) expect(top.logprob).toBeLessThanOrEqual(0);
    if (piece.logprob === 0)
      expect(piece.top_logprobs).toEqual([{ token: piece.token, logprob: 0 }]);
  }
}

describe("decodeJson", () => {
  it("gives a pinned answer for a fixed schema, source and seed", () => {
    const node = compiled({
      type: "object",
      properties: {
        name: { type: "string", maxLength: 24 },
        age: { type: "integer", minimum: 0, maximum: 120 },
        score: { type: "number" },
        kind: { enum: ["cat", "dog", "bird"] },
        born: { type: "string", format: "date" },
        tags: { type: "array", items: { type: "string" }, maxItems: 2 },
        note: { type: ["string", "null"] },
      },
      required: ["name", "age", "score", "kind", "born", "tags"],
    });
    const pieces = decode(node, 42);
    expect(textOf(pieces)).toBe(GOLDEN_TEXT);
    expect(pieces.length).toBe(GOLDEN_PIECES);
  });

  it("gathers forced punctuation into one piece and gives choices −ln k", () => {
    const node = compiled({
      type: "object",
      properties: { a: { type: "boolean" }, b: { enum: [1, 2, 3, 4, 5, 6, 7] } },
      required: ["a", "b"],
    });
    for (let seed = 0; seed < 20; seed++) {
      const pieces = decode(node, seed);
      expect(pieces.map((p) => p.token)).toEqual([
        '{"a":',
        expect.stringMatching(/^(true|false)$/),
        ',"b":',
        expect.stringMatching(/^[1-7]$/),
        "}",
      ]);
      const [open, flag, , number] = pieces as [Piece, Piece, Piece, Piece];
      expect(open).toEqual({
        token: '{"a":',
        logprob: 0,
        top_logprobs: [{ token: '{"a":', logprob: 0 }],
      });
      expect(flag.logprob).toBeCloseTo(-Math.log(2), 12);
      expect(flag.top_logprobs.map((t) => t.token)).toEqual(["true", "false"]);
      expect(number.logprob).toBeCloseTo(-Math.log(7), 12);
      const listed = number.top_logprobs.map((t) => t.token);
      expect(listed).toHaveLength(5);
      expect(listed).toContain(number.token);
      expect(listed.slice(0, 4)).toEqual(["1", "2", "3", "4"]);
    }
  });

  it("charges a choice that shows no text of its own to the next piece", () => {
    const node = compiled({ anyOf: [{ type: "null" }, { type: "boolean" }] });
    const seen = new Set<string>();
    for (let seed = 0; seed < 16; seed++) {
      const [piece, ...more] = decode(node, seed);
      expect(more).toEqual([]);
      seen.add(piece?.token ?? "");
      const expected = piece?.token === "null" ? -Math.log(2) : -2 * Math.log(2);
      expect(piece?.logprob).toBeCloseTo(expected, 12);
      for (const top of piece?.top_logprobs ?? []) expect(top.logprob).toBeCloseTo(expected, 12);
    }
    expect(seen).toEqual(new Set(["null", "true", "false"]));
  });

  it("writes strings as source words joined by spaces, 1 to 6 of them", () => {
    const node = compiled({ type: "string" });
    const counts = new Set<number>();
    for (let seed = 0; seed < 100; seed++) {
      const source = wordSource(seed);
      const pieces = [...decodeJson(node, source, Xoshiro128.fromSeedWords([seed]))];
      const words = pieces.slice(1, -1);
      expect(pieces[0]?.token).toBe('"');
      expect(pieces.at(-1)?.token).toBe('"');
      expect(words[0]?.token).not.toMatch(/^ /);
      for (const word of words.slice(1)) expect(word.token).toMatch(/^ [^ ]/);
      expect(source.phrases).toBe(1);
      expect(source.words).toBe(words.length);
      counts.add(words.length);
    }
    expect(counts).toEqual(new Set([1, 2, 3, 4, 5, 6]));
  });

  it("keeps strings within minLength and maxLength, cutting a word only when it must", () => {
    const lengths = fc
      .tuple(fc.nat(40), fc.nat(40))
      .map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);
    fc.assert(
      fc.property(lengths, fc.nat(), ([minLength, maxLength], seed) => {
        const pieces = decode(compiled({ minLength, maxLength }), seed);
        const value = JSON.parse(textOf(pieces)) as string;
        const length = [...value].length;
        expect(length).toBeGreaterThanOrEqual(minLength);
        expect(length).toBeLessThanOrEqual(maxLength);
        const words = pieces.slice(1, -1).map((p) => p.token.replace(/^ /, ""));
        const cut = words.findIndex((w) => !(TEST_WORDS as readonly string[]).includes(w));
        if (cut >= 0) {
          // Only the last word may be cut: the first one (a string has at least part of a
          // word), or one after words shorter than minLength.
          expect(cut).toBe(words.length - 1);
          expect(length).toBe(maxLength);
          if (cut > 0) expect([...words.slice(0, -1).join(" ")].length).toBeLessThan(minLength);
        }
      }),
      { numRuns: 150, seed: PROPERTY_SEED },
    );
    const empty = wordSource(1);
    expect(
      textOf([...decodeJson(compiled({ maxLength: 0 }), empty, Xoshiro128.fromSeedWords([1]))]),
    ).toBe('""');
    expect(empty.words).toBe(0);
  });

  it("escapes what JSON strings must escape", () => {
    const words = ['say "hi"', "back\\slash", "tab\there", "😀"];
    for (let seed = 0; seed < 20; seed++) {
      const text = textOf(decode(compiled({ type: "string", maxLength: 7 }), seed, seed, words));
      const value = JSON.parse(text) as string;
      expect(JSON.stringify(value)).toBe(text);
      expect([...value].length).toBeLessThanOrEqual(7);
    }
  });

  it.each(FORMATS)("generates valid %s values", (format) => {
    const zodPattern = ZOD_PATTERNS[format];
    const node = compiled({
      type: "string",
      format,
      ...(zodPattern ? { pattern: zodPattern } : {}),
    });
    const values = new Set<string>();
    for (let seed = 0; seed < 100; seed++) {
      const pieces = decode(node, seed);
      checkPieces(pieces);
      const value = JSON.parse(textOf(pieces)) as string;
      expect(value).toMatch(FORMAT_CHECKS[format]);
      if (zodPattern) expect(value).toMatch(new RegExp(zodPattern, "u"));
      values.add(value);
    }
    // Emails vary with 18 test words and 3 domains only.
    expect(values.size).toBeGreaterThan(format === "email" ? 20 : 90);
  });

  it("builds email local parts from the source word, reduced to a-z and 0-9", () => {
    const node = compiled({ format: "email" });
    const local = (word: string) =>
      (JSON.parse(textOf(decode(node, 3, 3, [word]))) as string).split("@")[0];
    expect(local("Ωmega")).toBe("mega");
    expect(local("Don't-B52")).toBe("dontb52");
    expect(local("ΩΩ")).toBe("user");
    expect(local("a".repeat(30))).toBe("a".repeat(20));
  });

  it("makes json_object answers of 1–3 source words as keys with simple values", () => {
    const counts = new Set<number>();
    for (let seed = 0; seed < 100; seed++) {
      const pieces = decode(ANY_OBJECT, seed);
      checkPieces(pieces);
      const value = JSON.parse(textOf(pieces)) as Record<string, unknown>;
      const keys = Object.keys(value);
      counts.add(keys.length);
      for (const key of keys) {
        expect(TEST_WORDS as readonly string[]).toContain(key.replace(/_\d$/, ""));
        const item = value[key];
        if (typeof item === "number")
          expect(Number.isInteger(item) && item >= 0 && item <= 100).toBe(true);
        else expect(["string", "boolean"]).toContain(typeof item);
      }
    }
    expect(counts).toEqual(new Set([1, 2, 3]));
    const same = JSON.parse(textOf(decode(ANY_OBJECT, 5, 5, ["same"])));
    expect(Object.keys(same).every((k, i) => k === (i === 0 ? "same" : `same_${i}`))).toBe(true);
  });

  it("ends recursion: past depth MAX_FREE_DEPTH every value takes its smallest form", () => {
    const tree = compiled({
      type: "object",
      properties: { v: { type: "boolean" }, kids: { type: "array", items: { $ref: "#" } } },
      required: ["v", "kids"],
    });
    const nested = compiled({ anyOf: [{ type: "array", items: { $ref: "#" } }, { type: "null" }] });
    const loop = compiled({
      $defs: { a: { anyOf: [{ $ref: "#/$defs/a" }, { type: "null" }] } },
      $ref: "#/$defs/a",
    });
    let most = 0;
    for (let seed = 0; seed < 200; seed++) {
      for (const node of [tree, nested]) {
        const pieces = decode(node, seed);
        expect(nesting(JSON.parse(textOf(pieces)))).toBeLessThanOrEqual(MAX_FREE_DEPTH + 2);
        most = Math.max(most, pieces.length);
      }
      expect(textOf(decode(loop, seed))).toBe("null");
    }
    expect(most).toBeLessThan(400);
  });

  it.each(converterSchemas())(
    "answers validate against what $name produces",
    ({ schema, draft }) => {
      const validate = (draft === "07" ? ajv07 : ajv2020).compile(schema);
      const node = compiled(schema);
      const answers = new Set<string>();
      for (let seed = 0; seed < 12; seed++) {
        const pieces = decode(node, seed);
        checkPieces(pieces);
        const text = textOf(pieces);
        expect(validate(JSON.parse(text)), `${text}\n${JSON.stringify(validate.errors)}`).toBe(
          true,
        );
        expect(pieces.length).toBeLessThan(200);
        answers.add(text);
      }
      expect(answers.size).toBe(12);
    },
  );

  it("validates, for any schema of the subset and any seeds, and repeats itself exactly", () => {
    fc.assert(
      fc.property(SCHEMA, fc.nat(), fc.nat(), (generated, seed, sourceSeed) => {
        const node = compiled(generated.schema);
        const validate = ajv2020.compile(generated.schema);
        const pieces = decode(node, seed, sourceSeed);
        checkPieces(pieces);
        const text = textOf(pieces);
        const value: unknown = JSON.parse(text);
        expect(validate(value), `${text}\n${JSON.stringify(validate.errors)}`).toBe(true);
        // Compact, escaped and ordered as JSON.stringify writes it.
        expect(JSON.stringify(value)).toBe(text);
        if (generated.instance !== undefined) expect(canonicalize(value)).toBe(generated.instance);
        expect(decode(node, seed, sourceSeed)).toEqual(pieces);
      }),
      { numRuns: 100, seed: PROPERTY_SEED },
    );
  });

  it("varies with the seed and the source when the schema admits several values", () => {
    const several = SCHEMA.filter((generated) => generated.instance === undefined);
    fc.assert(
      fc.property(several, (generated) => {
        const node = compiled(generated.schema);
        const answers = new Set<string>();
        for (let seed = 0; seed < 24; seed++) answers.add(textOf(decode(node, seed)));
        expect(answers.size).toBeGreaterThan(1);
      }),
      { numRuns: 100, seed: PROPERTY_SEED },
    );
  });

  it("depends on the prompt (the source) for a fixed seed, and on the seed for a fixed prompt", () => {
    const node = compiled({
      type: "object",
      properties: { title: { type: "string" }, draft: { type: "boolean" } },
      required: ["title", "draft"],
    });
    const byPrompt = new Set<string>();
    const bySeed = new Set<string>();
    for (let i = 0; i < 8; i++) {
      byPrompt.add(textOf(decode(node, 7, i)));
      bySeed.add(textOf(decode(node, i, 7)));
    }
    expect(byPrompt.size).toBeGreaterThan(4);
    expect(bySeed.size).toBeGreaterThan(4);
  });
});

/** How deeply containers nest in `value` (a scalar is 0). */
function nesting(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(nesting));
}

const zodPattern = (schema: z.ZodType) => (z.toJSONSchema(schema) as { pattern?: string }).pattern;
/** zod's patterns next to the formats, as its converters emit them. */
const ZOD_PATTERNS: Partial<Record<Format, string>> = {
  "date-time": zodPattern(z.iso.datetime()),
  date: zodPattern(z.iso.date()),
  email: zodPattern(z.email()),
  uuid: zodPattern(z.uuid()),
};

// A generated schema, and the canonical JSON of its only value when it admits exactly one.
interface Generated {
  schema: Record<string, unknown>;
  instance?: string;
}
const only = (schema: Record<string, unknown>, value: unknown): Generated => ({
  schema,
  instance: canonicalize(value),
});
const several = (schema: Record<string, unknown>): Generated => ({ schema });

const JSON_VALUE: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 4 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer({ min: -1000, max: 1000 }).map((n) => n / 100),
  fc.boolean(),
  fc.constant(null),
  // Plain prototypes, as JSON.parse makes them (ajv's deep equality compares constructors).
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2, noNullPrototype: true }),
  fc.array(fc.boolean(), { maxLength: 2 }),
);

const STRING = fc
  .record({ min: fc.option(fc.nat(8)), span: fc.option(fc.nat(12)) })
  .map(({ min, span }) => {
    const schema: Record<string, unknown> = { type: "string" };
    if (min !== null) schema.minLength = min;
    if (span !== null) schema.maxLength = (min ?? 0) + span;
    return schema.maxLength === 0 ? only(schema, "") : several(schema);
  });

const FORMAT = fc.tuple(fc.constantFrom(...FORMATS), fc.boolean()).map(([format, pattern]) => {
  const zod = ZOD_PATTERNS[format];
  return several({ type: "string", format, ...(pattern && zod ? { pattern: zod } : {}) });
});

/**
 * Integers or numbers with random bounds; the values they admit are counted in hundredths so
 * that a schema admitting exactly one is known (and one admitting none is left out).
 */
function numeric(integer: boolean): fc.Arbitrary<Generated> {
  const steps = integer ? [null, 2, 3, 7] : [null, 0.25, 0.5, 2, 5];
  return fc
    .record({
      low: fc.option(fc.integer({ min: -50, max: 150 })),
      span: fc.option(fc.nat(20)),
      lowExclusive: fc.boolean(),
      highExclusive: fc.boolean(),
      step: fc.constantFrom(...steps),
      nullable: fc.boolean(),
    })
    .map(({ low, span, lowExclusive, highExclusive, step, nullable }) => {
      const schema: Record<string, unknown> = { type: integer ? "integer" : "number" };
      const high = span === null ? null : (low ?? 0) + span;
      if (low !== null) schema[lowExclusive ? "exclusiveMinimum" : "minimum"] = low;
      if (high !== null) schema[highExclusive ? "exclusiveMaximum" : "maximum"] = high;
      if (step !== null) schema.multipleOf = step;
      if (nullable) schema.nullable = true;
      if (low === null || high === null) return several(schema);
      const unit = Math.round((step ?? (integer ? 1 : 0.01)) * 100);
      const admitted: number[] = [];
      for (let h = low * 100; h <= high * 100; h++) {
        if (h % unit !== 0 || (lowExclusive && h === low * 100)) continue;
        if (highExclusive && h === high * 100) continue;
        admitted.push(h / 100);
      }
      if (admitted.length === 0) return undefined;
      return admitted.length === 1 && !nullable ? only(schema, admitted[0]) : several(schema);
    })
    .filter((generated): generated is Generated => generated !== undefined);
}

const ENUM = fc
  .uniqueArray(JSON_VALUE, { minLength: 1, maxLength: 7, selector: (v) => canonicalize(v) })
  .map((values) =>
    values.length === 1 ? only({ enum: values }, values[0]) : several({ enum: values }),
  );

const CONST = JSON_VALUE.map((value) => only({ const: value }, value));

const TYPES = fc
  .subarray(["string", "integer", "number", "boolean", "null"], { minLength: 2 })
  .map((types) => several({ type: types }));

const LEAF = fc.oneof(
  fc.constant(only({ type: "null" }, null)),
  fc.constant(several({ type: "boolean" })),
  fc.constant(several({})),
  STRING,
  FORMAT,
  numeric(true),
  numeric(false),
  ENUM,
  CONST,
  TYPES,
);

const KEYS = ["a", "name", "x y", 'q"uote', "é", "tab\t", "0"];

function objectOf(child: fc.Arbitrary<Generated>): fc.Arbitrary<Generated> {
  return fc
    .record({
      entries: fc.uniqueArray(fc.tuple(fc.constantFrom(...KEYS), child, fc.boolean()), {
        maxLength: 4,
        selector: ([key]) => key,
      }),
      extra: fc.constantFrom(undefined, false, true),
    })
    .map(({ entries, extra }) => {
      const schema: Record<string, unknown> = {
        type: "object",
        properties: Object.fromEntries(entries.map(([key, g]) => [key, g.schema])),
        required: entries.filter(([, , required]) => required).map(([key]) => key),
      };
      if (extra !== undefined) schema.additionalProperties = extra;
      const fixed = entries.every(([, g, required]) => required && g.instance !== undefined);
      if (!fixed) return several(schema);
      const value = Object.fromEntries(
        entries.map(([key, g]) => [key, JSON.parse(g.instance ?? "")]),
      );
      return only(schema, value);
    });
}

function arrayOf(child: fc.Arbitrary<Generated>): fc.Arbitrary<Generated> {
  const list = fc
    .record({ items: child, min: fc.nat(3), extra: fc.option(fc.nat(4)) })
    .map(({ items, min, extra }) => {
      const schema: Record<string, unknown> = { type: "array", items: items.schema, minItems: min };
      if (extra !== null) schema.maxItems = min + extra;
      if (extra === 0 && (min === 0 || items.instance !== undefined)) {
        return only(
          schema,
          Array.from({ length: min }, () => JSON.parse(items.instance ?? "")),
        );
      }
      return several(schema);
    });
  const tuple = fc
    .record({
      prefix: fc.array(child, { minLength: 1, maxLength: 3 }),
      rest: fc.option(child),
      min: fc.nat(3),
    })
    .filter(({ prefix, rest, min }) => rest !== null || min <= prefix.length)
    .map(({ prefix, rest, min }) => {
      const schema = {
        type: "array",
        prefixItems: prefix.map((g) => g.schema),
        items: rest === null ? false : rest.schema,
        minItems: min,
      };
      const fixed = rest === null && min === prefix.length;
      if (!fixed || prefix.some((g) => g.instance === undefined)) return several(schema);
      return only(
        schema,
        prefix.map((g) => JSON.parse(g.instance ?? "")),
      );
    });
  return fc.oneof(list, tuple);
}

function anyOf(child: fc.Arbitrary<Generated>): fc.Arbitrary<Generated> {
  return fc.array(child, { minLength: 2, maxLength: 3 }).map((branches) => {
    const schema = { anyOf: branches.map((g) => g.schema) };
    const instances = new Set(branches.map((g) => g.instance));
    const first = branches[0]?.instance;
    return instances.size === 1 && first !== undefined
      ? { schema, instance: first }
      : several(schema);
  });
}

function taggedUnion(child: fc.Arbitrary<Generated>): fc.Arbitrary<Generated> {
  return fc.array(child, { minLength: 2, maxLength: 3 }).map((branches) =>
    several({
      oneOf: branches.map((g, i) => ({
        type: "object",
        properties: { kind: { const: `k${i}` }, value: g.schema },
        required: ["kind", "value"],
        additionalProperties: false,
      })),
    }),
  );
}

const { tree: TREE } = fc.letrec<{ tree: Generated }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", maxDepth: 3 },
    LEAF,
    objectOf(tie("tree")),
    arrayOf(tie("tree")),
    anyOf(tie("tree")),
    taggedUnion(tie("tree")),
  ),
}));

/** Any schema of the subset, sometimes reached through a `$ref` into `$defs`. */
const SCHEMA: fc.Arbitrary<Generated> = fc.tuple(TREE, fc.boolean()).map(([generated, viaDefs]) => {
  if (!viaDefs) return generated;
  const schema = {
    $defs: { shared: generated.schema },
    type: "object",
    properties: { one: { $ref: "#/$defs/shared" }, two: { $ref: "#/$defs/shared" } },
    required: ["one", "two"],
  };
  if (generated.instance === undefined) return several(schema);
  const value = JSON.parse(generated.instance);
  return only(schema, { one: value, two: value });
});

// Recorded under Node 20 (V8 11) and reproduced in workerd: integer draws and exact number
// formatting leave nothing to the engine.
const GOLDEN_TEXT =
  '{"name":"Copper café timber a","age":20,"score":1.01,"kind":"dog","born":"2009-04-03","tags":["lantern"],"note":null}';
const GOLDEN_PIECES = 16;
