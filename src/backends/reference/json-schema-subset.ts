import canonicalize from "canonicalize";

/**
 * The JSON Schema subset verity-ngram-1 decodes to, compiled into `SchemaNode`s that
 * `decodeJson` walks. Everything outside the subset is refused with the dotted path of the
 * keyword at fault inside the schema, never silently ignored, so an answer always validates
 * against the schema the caller sent.
 *
 * Supported (this is what OpenAI strict structured outputs and the zod converters of the
 * `openai` client, the Vercel AI SDK and LangChain produce):
 *
 * - Boolean schemas: `true` (and `{}`) means any value; `false` is refused.
 * - `type`: a name or an array of names among object, array, string, number, integer,
 *   boolean, null; `nullable: true` (OpenAPI) adds null. Without `type`, the types are inferred
 *   from the keywords present (object, array, string, number keywords, in that order); with
 *   none, the schema means any value.
 * - object: `properties`, `required` (each name must be in `properties`, unless
 *   `additionalProperties` is a schema, which then gives its value), `additionalProperties`
 *   (any value; no other key is ever generated), `propertyNames` (`{}`, `{type: "string"}`,
 *   or an `enum`/`const` listing every property name).
 * - array: `items` (a schema, `true`/`false`, or a draft-7 tuple array with
 *   `additionalItems`), `prefixItems`, `minItems`, `maxItems`, `uniqueItems` (false, or true
 *   when at most one item is allowed).
 * - string: `minLength`, `maxLength` (in code points), `format` date-time, date, time, email or
 *   uuid; `pattern` only next to such a format, and only as zod writes it there
 *   (`KNOWN_FORMAT_PATTERNS`): a client's regex is never run.
 * - number / integer: `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum` (numbers,
 *   or draft-4 booleans), `multipleOf` a positive integer (≤ 2^32) or 1/2, 1/4, 1/8, 1/16.
 * - `enum`, `const` (any JSON values, next to `type`/`nullable` and annotations only; values
 *   of another type than `type` allows are dropped, duplicates too).
 * - `anyOf`; `oneOf` only when no value can match two branches (different types, different
 *   constants, or objects told apart by a required property with different constants).
 * - `$ref` to `#` or any `#/…` JSON pointer (`$defs`, `definitions`), recursion allowed, with
 *   annotations only beside it; `allOf` of a single schema (zod's draft-7 wrapping of a `$ref`).
 * - Annotations, ignored: `$schema`, `$id` (at the root only), `$anchor`, `$comment`, `title`,
 *   `description`, `default`, `examples`, `example`, `deprecated`, `readOnly`, `writeOnly`,
 *   `strict`.
 *
 * Also refused: contradictory bounds, an empty `enum`, a `$ref` that points nowhere, a
 * schema with no finite value (a required self-reference with no way to stop), and schemas or
 * values nested deeper than MAX_SCHEMA_DEPTH.
 */

/** What `compileSchema` returns: the compiled schema, or where and why it was refused. */
export type SchemaResult =
  | { ok: true; node: SchemaNode }
  | {
      ok: false;
      /** Dotted path of the offending keyword inside the schema; "" is the schema itself. */
      path: string;
      /** A sentence for the caller, e.g. "the keyword 'pattern' is not supported by …". */
      reason: string;
    };

/** The string formats verity-ngram-1 generates. */
export type StringFormat = "date-time" | "date" | "time" | "email" | "uuid";

/** One property of an object node, in generation order. */
export interface PropertyNode {
  readonly name: string;
  /** `JSON.stringify(name) + ":"`, ready to emit. */
  readonly keyText: string;
  readonly node: SchemaNode;
  readonly required: boolean;
}

/**
 * A compiled schema. Nodes form a graph (recursive `$ref`s become cycles through `ref`
 * nodes) and are shared, so they must not be mutated.
 *
 * - `null`, `boolean`: that type.
 * - `values`: one of `texts`, JSON texts of `enum`/`const` values (≥ 1, distinct).
 * - `number`: the value of `k` for `first ≤ k < first + count`: `k · multiple` when
 *   `denominator` is 1, otherwise the exact decimal `k / denominator` (`numberText`).
 * - `string`: words of the text source, `minLength ≤ length ≤ maxLength` code points
 *   (`maxLength` may be Infinity), at most `maxWords` words unless `minLength` needs more.
 * - `format`: a generated date-time, date, time, email or uuid.
 * - `array`: item i follows `prefix[i]`, then `rest` (null: no further items);
 *   `minItems ≤ length ≤ maxItems` (maxItems may be Infinity).
 * - `object`: `properties`, in order; no other key.
 * - `choice`: one of `options` (anyOf, oneOf, several types, `{}`); `smallest` is the option
 *   with the smallest minimal value, taken past the depth limit.
 * - `ref`: the same as `target` (a `$ref`).
 * - `anyObject`: an object of 1–3 keys that are words of the source (json_object mode).
 */
export type SchemaNode =
  | { readonly kind: "null" }
  | { readonly kind: "boolean" }
  | { readonly kind: "values"; readonly texts: readonly string[] }
  | {
      readonly kind: "number";
      readonly first: number;
      readonly count: number;
      readonly multiple: number;
      readonly denominator: number;
    }
  | {
      readonly kind: "string";
      readonly minLength: number;
      readonly maxLength: number;
      readonly maxWords: number;
    }
  | { readonly kind: "format"; readonly format: StringFormat }
  | {
      readonly kind: "array";
      readonly prefix: readonly SchemaNode[];
      readonly rest: SchemaNode | null;
      readonly minItems: number;
      readonly maxItems: number;
    }
  | { readonly kind: "object"; readonly properties: readonly PropertyNode[] }
  | { readonly kind: "choice"; readonly options: readonly SchemaNode[]; readonly smallest: number }
  | { readonly kind: "ref"; readonly target: SchemaNode }
  | { readonly kind: "anyObject" };

type NodeOf<K extends SchemaNode["kind"]> = Extract<SchemaNode, { kind: K }>;
type Mutable<T> = { -readonly [P in keyof T]: T[P] };

/** Words of a generated string, at most (unless `minLength` needs more). */
export const MAX_STRING_WORDS = 6;

/** `{type: "null"}`, shared by every schema. */
export const NULL_NODE: SchemaNode = { kind: "null" };
/** `{type: "boolean"}`, shared by every schema. */
export const BOOLEAN_NODE: SchemaNode = { kind: "boolean" };

/**
 * Any JSON value (`{}` or `true`): a string, an integer 0..100, a boolean or null, chosen
 * uniformly (past the depth limit, the string).
 */
export const ANY_VALUE: SchemaNode = {
  kind: "choice",
  options: [
    { kind: "string", minLength: 0, maxLength: Number.POSITIVE_INFINITY, maxWords: 6 },
    { kind: "number", first: 0, count: 101, multiple: 1, denominator: 1 },
    BOOLEAN_NODE,
    NULL_NODE,
  ],
  smallest: 0,
};

/** The text of a generated email is the source word (up to 20 characters) and this domain. */
export const EMAIL_DOMAINS = ["@example.com", "@example.org", "@example.net"] as const;
/** The local part of a generated email has at most this many characters. */
export const EMAIL_LOCAL_MAX = 20;

/** Lengths, in characters, of the values generated for each format (email: the range). */
const FORMAT_LENGTHS: Record<StringFormat, readonly [number, number]> = {
  "date-time": [20, 20],
  date: [10, 10],
  time: [9, 9],
  email: [1 + EMAIL_DOMAINS[0].length, EMAIL_LOCAL_MAX + EMAIL_DOMAINS[0].length],
  uuid: [36, 36],
};

/**
 * The `pattern`s zod 4's converters (`z.toJSONSchema`, the openai client's `zodResponseFormat`,
 * and the AI SDK and LangChain, which use them) write beside a format: the only ones accepted.
 */
export const KNOWN_FORMAT_PATTERNS: Record<StringFormat, readonly string[]> = {
  email: [
    "^(?:[A-Za-z0-9_'+\\-]+\\.)*[A-Za-z0-9_'+\\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\\-]*\\.)+[A-Za-z]{2,}$",
  ],
  uuid: [
    "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$",
    "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
  ],
  date: [
    "^(?:(?:\\d\\d[2468][048]|\\d\\d[13579][26]|\\d\\d0[48]|[02468][048]00|[13579][26]00)-02-29|\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|(?:02)-(?:0[1-9]|1\\d|2[0-8])))$",
  ],
  "date-time": [
    "^(?:(?:\\d\\d[2468][048]|\\d\\d[13579][26]|\\d\\d0[48]|[02468][048]00|[13579][26]00)-02-29|\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|(?:02)-(?:0[1-9]|1\\d|2[0-8])))T(?:(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d+)?(?:Z))$",
  ],
  time: [],
};

/**
 * Values spanning what `decodeJson` generates for each format (every field at its smallest
 * and largest): a `pattern` next to a format must match all of them to be accepted.
 */
export const FORMAT_SAMPLES: Record<StringFormat, readonly string[]> = {
  date: ["2000-01-01", "2029-12-28", "2004-02-28", "2013-07-19", "2026-10-09", "2017-11-20"],
  time: ["00:00:00Z", "23:59:59Z", "12:34:56Z", "09:09:09Z", "19:40:30Z"],
  "date-time": [
    "2000-01-01T00:00:00Z",
    "2029-12-28T23:59:59Z",
    "2004-02-28T12:34:56Z",
    "2013-07-19T09:09:09Z",
    "2026-10-09T19:40:30Z",
  ],
  email: [
    "a@example.com",
    "z@example.org",
    "0@example.net",
    "user@example.com",
    "abcdefghijklmnopqrst@example.org",
    "0123456789uvwxyz0a9z@example.net",
  ],
  uuid: [
    "00000000-0000-4000-8000-000000000000",
    "ffffffff-ffff-4fff-bfff-ffffffffffff",
    "01234567-89ab-4cde-9f01-23456789abcd",
    "a0b1c2d3-e4f5-4a6b-a7c8-d9e0f1a2b3c4",
  ],
};

const FORMATS = new Set<string>(Object.keys(FORMAT_LENGTHS));

type JsonType = "object" | "array" | "string" | "number" | "integer" | "boolean" | "null";
const JSON_TYPES = new Set<string>([
  "object",
  "array",
  "string",
  "number",
  "integer",
  "boolean",
  "null",
]);

const ANNOTATIONS = new Set([
  "$schema",
  "$anchor",
  "$comment",
  "title",
  "description",
  "default",
  "examples",
  "example",
  "deprecated",
  "readOnly",
  "writeOnly",
  "strict",
]);
const CONTAINERS = new Set(["$defs", "definitions"]);
const OBJECT_KEYWORDS = ["properties", "required", "additionalProperties", "propertyNames"];
const ARRAY_KEYWORDS = [
  "items",
  "prefixItems",
  "additionalItems",
  "minItems",
  "maxItems",
  "uniqueItems",
];
const STRING_KEYWORDS = ["minLength", "maxLength", "format", "pattern"];
const NUMBER_KEYWORDS = [
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
];
const INFERRED: readonly [JsonType, readonly string[]][] = [
  ["object", OBJECT_KEYWORDS],
  ["array", ARRAY_KEYWORDS],
  ["string", STRING_KEYWORDS],
  ["number", NUMBER_KEYWORDS],
];
const SUPPORTED = new Set([
  "$id",
  "$ref",
  "allOf",
  "type",
  "nullable",
  "enum",
  "const",
  "anyOf",
  "oneOf",
  ...OBJECT_KEYWORDS,
  ...ARRAY_KEYWORDS,
  ...STRING_KEYWORDS,
  ...NUMBER_KEYWORDS,
]);
const HINTS = new Map([
  ["not", "; list the allowed values with 'enum' instead"],
  ["patternProperties", "; list the keys in 'properties' instead"],
  ["if", "; use 'anyOf' instead"],
  ["then", "; use 'anyOf' instead"],
  ["else", "; use 'anyOf' instead"],
]);

/** The largest |value| generated: safe integers, and 2^46 when k / denominator has decimals. */
const MAX_INTEGER = Number.MAX_SAFE_INTEGER;
const MAX_DECIMAL = 2 ** 46;
/** Numbers are drawn among about this many values from 0 up, or next to the allowed range. */
const NUMBER_WINDOW = 100;
/** The most node pairs the oneOf overlap checks of one schema may compare. */
export const MAX_DISJOINT_STEPS = 100_000;
/** The longest `enum` or `const` value, as JSON: each is generated as one token. */
export const MAX_VALUE_CHARS = 4_096;
/** A oneOf with more branches is refused: its overlap check compares every pair. */
export const MAX_ONE_OF_BRANCHES = 256;
/** A schema compiling to more nodes is refused, so compiling stays in milliseconds. */
export const MAX_SCHEMA_NODES = 20_000;
/** Schemas and `enum`/`const` values nested deeper than this are refused (no stack overflow). */
export const MAX_SCHEMA_DEPTH = 64;

/**
 * Compiles a JSON Schema (already parsed JSON) into the node `decodeJson` walks, or says
 * which keyword (as a dotted path inside the schema) it refuses and why. Never throws.
 * The rules are in this module's comment; compilation is deterministic and does not depend
 * on anything but `schema`.
 */
export function compileSchema(schema: unknown): SchemaResult {
  const compiler = new Compiler(schema);
  try {
    const node = compiler.compile(schema, "");
    compiler.finish();
    return { ok: true, node };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, path: error.path, reason: error.reason };
    throw error;
  }
}

/**
 * The JSON text of a number node's value k: `k · multiple` when `denominator` is 1, else
 * the decimal k / denominator written exactly (denominator 100: up to 2 decimals; 2^j: up
 * to j), without trailing zeros. Only integer operations, so every engine writes the same.
 */
export function numberText(k: number, multiple: number, denominator: number): string {
  if (denominator === 1) return String(k * multiple);
  const sign = k < 0 ? "-" : "";
  const magnitude = Math.abs(k);
  const whole = Math.floor(magnitude / denominator);
  const remainder = magnitude % denominator;
  if (remainder === 0) return `${sign}${whole}`;
  const digits = DECIMALS[denominator] ?? 2;
  // 10^digits / denominator is an integer: 1 for 100, 5^j for 2^j.
  const scaled = remainder * (10 ** digits / denominator);
  const fraction = String(scaled).padStart(digits, "0").replace(/0+$/, "");
  return `${sign}${whole}.${fraction}`;
}

/** Decimals written for each denominator: 100 → 2, 2^j → j. */
const DECIMALS: Record<number, number> = { 2: 1, 4: 2, 8: 3, 16: 4, 100: 2 };

class Refusal {
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string) {
    this.path = path;
    this.reason = reason;
  }
}

const join = (path: string, key: string | number) => (path === "" ? `${key}` : `${path}.${key}`);
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const has = (schema: Record<string, unknown>, key: string) => Object.hasOwn(schema, key);
const quote = (value: unknown) => (typeof value === "string" ? `'${value}'` : String(value));

class Compiler {
  /** Every node built from the schema, in the order built. */
  private readonly nodes: SchemaNode[] = [];
  /** Where each node's schema is, and where each child's schema is (same order as children). */
  private readonly paths = new Map<SchemaNode, string>();
  private readonly childPaths = new Map<SchemaNode, string[]>();
  /** The `ref` node of each schema object that a `$ref` points to. */
  private readonly refs = new Map<object, Mutable<NodeOf<"ref">>>();
  /** Canonical JSON of the values of each `values` node, to compare them. */
  private readonly canonical = new Map<SchemaNode, Set<string>>();
  private readonly oneOfs: { node: NodeOf<"choice">; path: string }[] = [];
  private disjointSteps = 0;
  private checking = "";

  private readonly root: unknown;
  constructor(root: unknown) {
    this.root = root;
  }

  private depth = 0;

  compile(schema: unknown, path: string): SchemaNode {
    if (this.depth >= MAX_SCHEMA_DEPTH) {
      throw new Refusal(path, `the schema nests deeper than ${MAX_SCHEMA_DEPTH} levels`);
    }
    this.depth++;
    try {
      return this.compileAt(schema, path);
    } finally {
      this.depth--;
    }
  }

  private compileAt(schema: unknown, path: string): SchemaNode {
    if (schema === true) return ANY_VALUE;
    if (schema === false) throw new Refusal(path, "the schema 'false' admits no value");
    if (!isObject(schema)) throw new Refusal(path, "a schema must be an object or a boolean");
    this.checkKeywords(schema, path);
    if (has(schema, "$ref")) return this.compileRef(schema, path);
    if (has(schema, "allOf")) return this.compileAllOf(schema, path);
    if (has(schema, "anyOf") || has(schema, "oneOf")) return this.compileUnion(schema, path);
    if (has(schema, "enum") || has(schema, "const")) return this.compileValues(schema, path);
    const types = this.declaredTypes(schema, path) ?? inferredTypes(schema);
    if (types.length === 0) return ANY_VALUE;
    const options = types.map((type) => this.compileType(type, schema, path));
    if (options.length === 1) return options[0] ?? ANY_VALUE;
    return this.choice(
      options,
      path,
      options.map(() => path),
    );
  }

  /** Checks the graph once every `$ref` is resolved: oneOf overlaps, then finiteness. */
  finish(): void {
    for (const { node, path } of this.oneOfs) this.checkDisjoint(node, path);
    const sizes = this.minimalSizes();
    for (const node of this.nodes) {
      if (!Number.isFinite(sizes.get(node) ?? Number.POSITIVE_INFINITY)) {
        this.refuseInfinite(node, sizes);
      }
    }
    for (const node of this.nodes) {
      if (node.kind !== "choice") continue;
      let smallest = 0;
      node.options.forEach((option, i) => {
        const best = node.options[smallest] ?? option;
        if (sizeOf(option, sizes) < sizeOf(best, sizes)) smallest = i;
      });
      (node as Mutable<NodeOf<"choice">>).smallest = smallest;
    }
  }

  private checkKeywords(schema: Record<string, unknown>, path: string): void {
    for (const key of Object.keys(schema)) {
      if (ANNOTATIONS.has(key) || CONTAINERS.has(key)) continue;
      if (key === "$id" && schema !== this.root) {
        throw new Refusal(join(path, key), "'$id' is supported only at the root of the schema");
      }
      if (SUPPORTED.has(key)) continue;
      throw new Refusal(
        join(path, key),
        `the keyword '${key}' is not supported by verity-ngram-1${HINTS.get(key) ?? ""}`,
      );
    }
    for (const key of CONTAINERS) {
      if (has(schema, key) && !isObject(schema[key])) {
        throw new Refusal(join(path, key), `'${key}' must be an object of schemas`);
      }
    }
  }

  /** Refuses every keyword of `schema` but `allowed`, annotations and definitions. */
  private onlyBeside(
    schema: Record<string, unknown>,
    path: string,
    keyword: string,
    allowed: readonly string[],
    advice: string,
  ): void {
    for (const key of Object.keys(schema)) {
      if (key === keyword || ANNOTATIONS.has(key) || CONTAINERS.has(key)) continue;
      if (key === "$id" || allowed.includes(key)) continue;
      throw new Refusal(
        join(path, key),
        `'${key}' next to '${keyword}' is not supported by verity-ngram-1; ${advice}`,
      );
    }
  }

  private compileRef(schema: Record<string, unknown>, path: string): SchemaNode {
    const refPath = join(path, "$ref");
    this.onlyBeside(schema, path, "$ref", [], "put the keywords in the referenced schema");
    const ref = schema.$ref;
    if (typeof ref !== "string") throw new Refusal(refPath, "'$ref' must be a string");
    if (ref !== "#" && !ref.startsWith("#/")) {
      throw new Refusal(
        refPath,
        `'$ref' is '${ref}'; only references inside the schema ('#', '#/$defs/…') are supported`,
      );
    }
    const segments = ref === "#" ? [] : ref.slice(2).split("/").map(decodePointerToken);
    if (segments.includes(undefined)) {
      throw new Refusal(refPath, `'$ref' '${ref}' is not a valid JSON pointer`);
    }
    let target: unknown = this.root;
    for (const segment of segments as string[]) {
      target = child(target, segment);
      if (target === undefined) {
        throw new Refusal(refPath, `'$ref' points to '${ref}', which does not exist`);
      }
    }
    if (typeof target === "boolean") return this.compile(target, refPath);
    if (!isObject(target)) {
      throw new Refusal(refPath, `'$ref' points to '${ref}', which is not a schema`);
    }
    const known = this.refs.get(target);
    if (known) return known;
    const node: Mutable<NodeOf<"ref">> = { kind: "ref", target: NULL_NODE };
    const targetPath = segments.join(".");
    this.refs.set(target, node);
    this.register(node, targetPath, [targetPath]);
    node.target = this.compile(target, targetPath);
    return node;
  }

  /** A one-schema allOf, as zod's draft-7 output wraps a `$ref` that has a sibling. */
  private compileAllOf(schema: Record<string, unknown>, path: string): SchemaNode {
    this.onlyBeside(schema, path, "allOf", [], "put the keywords inside 'allOf'");
    const list = schema.allOf;
    const at = join(path, "allOf");
    if (!Array.isArray(list) || list.length !== 1) {
      throw new Refusal(
        at,
        "'allOf' is supported by verity-ngram-1 only with a single schema; merge its schemas into one",
      );
    }
    return this.compile(list[0], join(at, 0));
  }

  private compileUnion(schema: Record<string, unknown>, path: string): SchemaNode {
    const keyword = has(schema, "anyOf") ? "anyOf" : "oneOf";
    this.onlyBeside(schema, path, keyword, ["nullable"], "move it into each branch");
    const branches = schema[keyword];
    const at = join(path, keyword);
    if (!Array.isArray(branches) || branches.length === 0) {
      throw new Refusal(at, `'${keyword}' must be a non-empty array of schemas`);
    }
    // Telling oneOf branches apart compares every pair: bounded, so no schema costs seconds.
    if (keyword === "oneOf" && branches.length > MAX_ONE_OF_BRANCHES) {
      throw new Refusal(
        at,
        `'oneOf' has ${branches.length} branches; verity-ngram-1 takes at most ${MAX_ONE_OF_BRANCHES} (use 'anyOf' or 'enum' for more)`,
      );
    }
    const options = branches.map((branch, i) => this.compile(branch, join(at, i)));
    const optionPaths = branches.map((_, i) => join(at, i));
    if (this.nullable(schema, path)) {
      options.push(NULL_NODE);
      optionPaths.push(join(path, "nullable"));
    }
    if (options.length === 1) return options[0] ?? ANY_VALUE;
    const node = this.choice(options, path, optionPaths);
    if (keyword === "oneOf") this.oneOfs.push({ node, path: at });
    return node;
  }

  private compileValues(schema: Record<string, unknown>, path: string): SchemaNode {
    const keyword = has(schema, "enum") ? "enum" : "const";
    this.onlyBeside(
      schema,
      path,
      keyword,
      ["type", "nullable", "enum", "const"],
      "list only the values that satisfy it",
    );
    const notJson = `the value is not JSON, or nests deeper than ${MAX_SCHEMA_DEPTH} levels`;
    let values: unknown[];
    if (has(schema, "enum")) {
      const list = schema.enum;
      if (!Array.isArray(list) || list.length === 0) {
        throw new Refusal(join(path, "enum"), "'enum' must be a non-empty array");
      }
      values = list;
    } else {
      values = [schema.const];
    }
    values.forEach((value, i) => {
      const at = keyword === "enum" ? join(join(path, "enum"), i) : join(path, "const");
      if (!isJson(value, 0)) throw new Refusal(at, notJson);
    });
    if (has(schema, "enum") && has(schema, "const")) {
      if (!isJson(schema.const, 0)) throw new Refusal(join(path, "const"), notJson);
      const constant = canonicalize(schema.const);
      values = values.filter((value) => canonicalize(value) === constant);
    }
    const types = this.declaredTypes(schema, path);
    if (types) values = values.filter((value) => types.some((type) => hasType(value, type)));
    const texts: string[] = [];
    const seen = new Set<string>();
    for (const value of values) {
      const key = canonicalize(value) ?? "";
      if (seen.has(key)) continue;
      seen.add(key);
      const text = JSON.stringify(value);
      // One value is one token of the answer: a long one would pass max_tokens unseen.
      if (text.length > MAX_VALUE_CHARS) {
        throw new Refusal(
          join(path, keyword),
          `a value of '${keyword}' is ${text.length} characters as JSON; verity-ngram-1 takes values of at most ${MAX_VALUE_CHARS}`,
        );
      }
      texts.push(text);
    }
    if (texts.length === 0) {
      throw new Refusal(
        join(path, keyword),
        `no value of '${keyword}' satisfies the schema's 'type' and 'const'`,
      );
    }
    const node: SchemaNode = { kind: "values", texts };
    this.canonical.set(node, seen);
    this.register(node, path, []);
    return node;
  }

  /** The types `type` and `nullable` allow, or undefined if `type` is absent. */
  private declaredTypes(schema: Record<string, unknown>, path: string): JsonType[] | undefined {
    if (!has(schema, "type")) return undefined;
    const declared = schema.type;
    const list = Array.isArray(declared) ? declared : [declared];
    const types: JsonType[] = [];
    list.forEach((type, i) => {
      const at = Array.isArray(declared) ? join(join(path, "type"), i) : join(path, "type");
      if (typeof type !== "string" || !JSON_TYPES.has(type)) {
        throw new Refusal(
          at,
          `${quote(type)} is not a type: use object, array, string, number, integer, boolean or null`,
        );
      }
      if (!types.includes(type as JsonType)) types.push(type as JsonType);
    });
    if (types.length === 0) throw new Refusal(join(path, "type"), "'type' lists no type");
    if (this.nullable(schema, path) && !types.includes("null")) types.push("null");
    return types;
  }

  private nullable(schema: Record<string, unknown>, path: string): boolean {
    if (!has(schema, "nullable")) return false;
    if (typeof schema.nullable !== "boolean") {
      throw new Refusal(join(path, "nullable"), "'nullable' must be true or false");
    }
    return schema.nullable;
  }

  private compileType(type: JsonType, schema: Record<string, unknown>, path: string): SchemaNode {
    switch (type) {
      case "null":
        return NULL_NODE;
      case "boolean":
        return BOOLEAN_NODE;
      case "string":
        return this.compileString(schema, path);
      case "number":
      case "integer":
        return this.compileNumber(schema, path, type === "integer");
      case "array":
        return this.compileArray(schema, path);
      case "object":
        return this.compileObject(schema, path);
    }
  }

  private compileString(schema: Record<string, unknown>, path: string): SchemaNode {
    const minLength = count(schema, path, "minLength") ?? 0;
    const maxLength = count(schema, path, "maxLength") ?? Number.POSITIVE_INFINITY;
    if (minLength > maxLength) {
      throw new Refusal(
        join(path, "minLength"),
        `'minLength' (${minLength}) is greater than 'maxLength' (${maxLength})`,
      );
    }
    if (!has(schema, "format")) {
      if (has(schema, "pattern")) {
        throw new Refusal(
          join(path, "pattern"),
          "the keyword 'pattern' is not supported by verity-ngram-1 (only next to a 'format' it generates)",
        );
      }
      const node: SchemaNode = { kind: "string", minLength, maxLength, maxWords: MAX_STRING_WORDS };
      this.register(node, path, []);
      return node;
    }
    const format = schema.format;
    if (typeof format !== "string" || !FORMATS.has(format)) {
      throw new Refusal(
        join(path, "format"),
        `the format ${quote(format)} is not supported by verity-ngram-1 (supported: date-time, date, time, email, uuid)`,
      );
    }
    const stringFormat = format as StringFormat;
    const [shortest, longest] = FORMAT_LENGTHS[stringFormat];
    if (minLength > shortest || maxLength < longest) {
      throw new Refusal(
        join(path, minLength > shortest ? "minLength" : "maxLength"),
        `verity-ngram-1 generates ${stringFormat} values of ${shortest === longest ? shortest : `${shortest} to ${longest}`} characters, which 'minLength'/'maxLength' do not allow`,
      );
    }
    if (has(schema, "pattern")) this.checkPattern(schema.pattern, stringFormat, path);
    const node: SchemaNode = { kind: "format", format: stringFormat };
    this.register(node, path, []);
    return node;
  }

  private checkPattern(pattern: unknown, format: StringFormat, path: string): void {
    const at = join(path, "pattern");
    if (typeof pattern !== "string") throw new Refusal(at, "'pattern' must be a string");
    // Never run a client's regex: one with catastrophic backtracking would hold the gateway,
    // then every verifier, for minutes. Only the patterns zod writes beside these formats
    // are known to accept every value verity-ngram-1 generates for them (a test checks it).
    if (!KNOWN_FORMAT_PATTERNS[format].includes(pattern)) {
      throw new Refusal(
        at,
        `'pattern' is supported only as zod writes it beside 'format: ${format}'; verity-ngram-1 decodes to formats, not to arbitrary regular expressions`,
      );
    }
  }

  private compileNumber(schema: Record<string, unknown>, path: string, integer: boolean) {
    const [multiple, denominator] = numberUnit(schema, path, integer);
    const limit = denominator === 1 ? MAX_INTEGER : MAX_DECIMAL;
    const valueAt = (k: number) =>
      denominator === 1 ? k * multiple : Number(numberText(k, 1, denominator));
    const kOf = (value: number) => (value * denominator) / multiple;
    let low = settle(Math.ceil(kOf(-limit)), (k) => valueAt(k) >= -limit, -1);
    let high = settle(Math.floor(kOf(limit)), (k) => valueAt(k) <= limit, 1);
    const exclusiveFlag = (key: string) => schema[key] === true;
    for (const [key, exclusive] of bounds(schema, path, "minimum", "exclusiveMinimum")) {
      const bound = schema[key] as number;
      if (bound > limit) throw this.outOfRange(path, key, bound, limit);
      if (bound < -limit) continue;
      const strict = exclusive || (key === "minimum" && exclusiveFlag("exclusiveMinimum"));
      const admits = (k: number) => (strict ? valueAt(k) > bound : valueAt(k) >= bound);
      low = Math.max(low, settle(Math.ceil(kOf(bound)), admits, -1));
    }
    for (const [key, exclusive] of bounds(schema, path, "maximum", "exclusiveMaximum")) {
      const bound = schema[key] as number;
      if (bound < -limit) throw this.outOfRange(path, key, bound, limit);
      if (bound > limit) continue;
      const strict = exclusive || (key === "maximum" && exclusiveFlag("exclusiveMaximum"));
      const admits = (k: number) => (strict ? valueAt(k) < bound : valueAt(k) <= bound);
      high = Math.min(high, settle(Math.floor(kOf(bound)), admits, 1));
    }
    if (low > high) {
      const what = integer ? "integer" : "number";
      const unit =
        denominator === 1
          ? multiple === 1
            ? ""
            : ` that is a multiple of ${multiple}`
          : denominator === 100
            ? " with at most 2 decimals (what verity-ngram-1 generates)"
            : ` that is a multiple of 1/${denominator}`;
      throw new Refusal(path, `no ${what}${unit} lies within the schema's bounds`);
    }
    // The window: k from 0 up to `width` where the bounds allow, then widened towards the
    // bounds to `width + 1` allowed values when fewer lie there (a range of negatives, or one
    // that ends near 0), so that every range with room offers as many values as the default.
    const width = Math.max(10, Math.floor((NUMBER_WINDOW * denominator) / multiple));
    let first = Math.min(Math.max(0, low), high);
    const last = Math.min(high, first + width);
    if (last - first < width) first = Math.max(low, last - width);
    const node: SchemaNode = {
      kind: "number",
      first,
      count: last - first + 1,
      multiple,
      denominator,
    };
    this.register(node, path, []);
    return node;
  }

  private outOfRange(path: string, key: string, bound: number, limit: number): Refusal {
    const range = limit === MAX_INTEGER ? "2^53 − 1" : "2^46 for numbers with decimals";
    return new Refusal(
      join(path, key),
      `'${key}' (${bound}) leaves no number of magnitude up to ${range}, the largest verity-ngram-1 generates`,
    );
  }

  private compileArray(schema: Record<string, unknown>, path: string): SchemaNode {
    const items = schema.items;
    let prefixKey: string | undefined;
    let restKey = "items";
    if (has(schema, "prefixItems")) {
      if (Array.isArray(items)) {
        throw new Refusal(join(path, "items"), "'items' must be a schema next to 'prefixItems'");
      }
      prefixKey = "prefixItems";
    } else if (Array.isArray(items)) {
      prefixKey = "items";
      restKey = "additionalItems";
    }
    const prefixSchemas = prefixKey === undefined ? [] : schema[prefixKey];
    if (!Array.isArray(prefixSchemas)) {
      throw new Refusal(join(path, prefixKey ?? "items"), `'${prefixKey}' must be an array`);
    }
    const prefixAt = join(path, prefixKey ?? "items");
    const prefix = prefixSchemas.map((item, i) => this.compile(item, join(prefixAt, i)));
    const restSchema = has(schema, restKey) ? schema[restKey] : true;
    const rest = restSchema === false ? null : this.compile(restSchema, join(path, restKey));
    const minItems = count(schema, path, "minItems") ?? 0;
    let maxItems = count(schema, path, "maxItems") ?? Number.POSITIVE_INFINITY;
    if (minItems > maxItems) {
      throw new Refusal(
        join(path, "minItems"),
        `'minItems' (${minItems}) is greater than 'maxItems' (${maxItems})`,
      );
    }
    if (rest === null) {
      maxItems = Math.min(maxItems, prefix.length);
      if (minItems > maxItems) {
        throw new Refusal(
          join(path, "minItems"),
          `'minItems' (${minItems}) is more than the ${prefix.length} items the schema allows`,
        );
      }
    }
    if (has(schema, "uniqueItems")) {
      const unique = schema.uniqueItems;
      if (typeof unique !== "boolean") {
        throw new Refusal(join(path, "uniqueItems"), "'uniqueItems' must be true or false");
      }
      if (unique && maxItems > 1) {
        throw new Refusal(
          join(path, "uniqueItems"),
          "'uniqueItems' is supported by verity-ngram-1 only when at most one item is allowed",
        );
      }
    }
    const node: SchemaNode = { kind: "array", prefix, rest, minItems, maxItems };
    const childPaths = prefix.map((_, i) => join(prefixAt, i));
    if (rest) childPaths.push(join(path, restKey));
    this.register(node, path, childPaths);
    return node;
  }

  private compileObject(schema: Record<string, unknown>, path: string): SchemaNode {
    const declared = has(schema, "properties") ? schema.properties : {};
    if (!isObject(declared)) {
      throw new Refusal(join(path, "properties"), "'properties' must be an object of schemas");
    }
    const required = this.requiredNames(schema, path);
    const extra = schema.additionalProperties;
    if (has(schema, "additionalProperties") && typeof extra !== "boolean" && !isObject(extra)) {
      throw new Refusal(
        join(path, "additionalProperties"),
        "'additionalProperties' must be a boolean or a schema",
      );
    }
    const properties: PropertyNode[] = [];
    const childPaths: string[] = [];
    for (const name of Object.keys(declared)) {
      const at = join(join(path, "properties"), name);
      const node = this.compile(declared[name], at);
      properties.push(property(name, node, required.includes(name)));
      childPaths.push(at);
    }
    let extraNode: SchemaNode | undefined;
    for (const name of required) {
      if (Object.hasOwn(declared, name)) continue;
      if (!isObject(extra)) {
        throw new Refusal(
          join(path, "required"),
          `'required' names '${name}', which is not in 'properties'`,
        );
      }
      extraNode ??= this.compile(extra, join(path, "additionalProperties"));
      properties.push(property(name, extraNode, true));
      childPaths.push(join(path, "additionalProperties"));
    }
    if (has(schema, "propertyNames")) {
      this.checkPropertyNames(schema.propertyNames, properties, join(path, "propertyNames"));
    }
    const node: SchemaNode = { kind: "object", properties };
    this.register(node, path, childPaths);
    return node;
  }

  private requiredNames(schema: Record<string, unknown>, path: string): string[] {
    if (!has(schema, "required")) return [];
    const required = schema.required;
    if (!Array.isArray(required) || required.some((name) => typeof name !== "string")) {
      throw new Refusal(join(path, "required"), "'required' must be an array of strings");
    }
    return [...new Set(required as string[])];
  }

  /** Accepts `propertyNames` that every property name this object generates satisfies. */
  private checkPropertyNames(names: unknown, properties: PropertyNode[], at: string): void {
    if (names === true) return;
    const unsupported = () =>
      new Refusal(
        at,
        "'propertyNames' is supported by verity-ngram-1 only as {}, {type: 'string'} or an 'enum'/'const' of the property names",
      );
    if (!isObject(names)) throw unsupported();
    for (const key of Object.keys(names)) {
      if (!ANNOTATIONS.has(key) && !["type", "enum", "const"].includes(key)) throw unsupported();
    }
    if (has(names, "type") && names.type !== "string") throw unsupported();
    if (has(names, "enum") && !Array.isArray(names.enum)) throw unsupported();
    for (const { name } of properties) {
      const admitted =
        (!has(names, "const") || names.const === name) &&
        (!Array.isArray(names.enum) || names.enum.includes(name));
      if (!admitted) {
        throw new Refusal(at, `'propertyNames' does not allow the property '${name}'`);
      }
    }
  }

  private choice(options: SchemaNode[], path: string, optionPaths: string[]) {
    const node: NodeOf<"choice"> = { kind: "choice", options, smallest: 0 };
    this.register(node, path, optionPaths);
    return node;
  }

  private register(node: SchemaNode, path: string, childPaths: string[]): void {
    if (this.nodes.length >= MAX_SCHEMA_NODES) {
      throw new Refusal(path, `the schema has more than ${MAX_SCHEMA_NODES} subschemas`);
    }
    this.nodes.push(node);
    this.paths.set(node, path);
    this.childPaths.set(node, childPaths);
  }

  /** Refuses a oneOf unless no value can match two of its options. */
  private checkDisjoint(node: NodeOf<"choice">, path: string): void {
    const { options } = node;
    this.checking = path;
    for (let i = 0; i < options.length; i++) {
      for (let j = i + 1; j < options.length; j++) {
        const a = options[i] ?? NULL_NODE;
        const b = options[j] ?? NULL_NODE;
        if (!this.disjoint(a, b, 0)) {
          throw new Refusal(
            path,
            `'oneOf' is supported by verity-ngram-1 only when no value can match two branches, and branches ${i} and ${j} may overlap; use 'anyOf', or tell them apart by type or by a required property with different 'const' values`,
          );
        }
      }
    }
  }

  private disjoint(first: SchemaNode, second: SchemaNode, depth: number): boolean {
    if (depth > 16) return false;
    // Unions nested under unions multiply the pairs to compare: bounded, whatever the schema.
    if (++this.disjointSteps > MAX_DISJOINT_STEPS) {
      throw new Refusal(
        this.checking,
        "this 'oneOf' nests too many unions to check that its branches cannot overlap; use 'anyOf'",
      );
    }
    const a = deref(first);
    const b = deref(second);
    const typesA = typesOf(a, new Set());
    const typesB = typesOf(b, new Set());
    if (![...typesA].some((type) => typesB.has(type))) return true;
    if (a.kind === "choice") return a.options.every((o) => this.disjoint(o, b, depth + 1));
    if (b.kind === "choice") return b.options.every((o) => this.disjoint(a, o, depth + 1));
    if (a.kind === "values" && b.kind === "values") return this.distinctValues(a, b);
    if (a.kind === "object" && b.kind === "object") {
      return a.properties.some((pa) => {
        const pb = b.properties.find((p) => p.name === pa.name);
        if (!pa.required || !pb?.required) return false;
        const va = deref(pa.node);
        const vb = deref(pb.node);
        return va.kind === "values" && vb.kind === "values" && this.distinctValues(va, vb);
      });
    }
    return false;
  }

  private distinctValues(a: SchemaNode, b: SchemaNode): boolean {
    const valuesB = this.canonical.get(b) ?? new Set();
    return ![...(this.canonical.get(a) ?? [])].some((value) => valuesB.has(value));
  }

  /**
   * The number of values in each node's smallest instance (Infinity if it has none), by
   * iterating to the fixpoint: a leaf is 1, an object 1 + its required properties, an array
   * 1 + its `minItems` items, a choice 1 + its smallest option, a ref its target.
   */
  private minimalSizes(): Map<SchemaNode, number> {
    const sizes = new Map<SchemaNode, number>();
    for (let changed = true; changed; ) {
      changed = false;
      for (const node of this.nodes) {
        const size = measure(node, sizes);
        if (size < (sizes.get(node) ?? Number.POSITIVE_INFINITY)) {
          sizes.set(node, size);
          changed = true;
        }
      }
    }
    return sizes;
  }

  /** Follows children without a finite value from `start` until one repeats, and refuses there. */
  private refuseInfinite(start: SchemaNode, sizes: Map<SchemaNode, number>): never {
    const seen = new Set<SchemaNode>();
    let node = start;
    let path = this.paths.get(start) ?? "";
    for (;;) {
      if (seen.has(node)) {
        throw new Refusal(
          path,
          "the schema has no finite value: this requires the same schema again with no way to stop; make the recursion optional, nullable, or an array that may be empty",
        );
      }
      seen.add(node);
      const children = childrenOf(node);
      const paths = this.childPaths.get(node) ?? [];
      const next = children.findIndex((c) => !Number.isFinite(sizeOf(c, sizes)));
      const nextNode = children[next];
      if (nextNode === undefined) {
        throw new Refusal(path, "the smallest value of this schema is too large to generate");
      }
      node = nextNode;
      path = paths[next] ?? path;
    }
  }
}

function property(name: string, node: SchemaNode, required: boolean): PropertyNode {
  return { name, keyText: `${JSON.stringify(name)}:`, node, required };
}

function inferredTypes(schema: Record<string, unknown>): JsonType[] {
  const types = INFERRED.filter(([, keywords]) => keywords.some((k) => has(schema, k))).map(
    ([type]) => type,
  );
  if (types.length > 0 && schema.nullable === true) types.push("null");
  return types;
}

/** A non-negative integer keyword, or undefined when absent. */
function count(schema: Record<string, unknown>, path: string, key: string): number | undefined {
  if (!has(schema, key)) return undefined;
  const value = schema[key];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new Refusal(join(path, key), `'${key}' must be a non-negative integer`);
  }
  return value;
}

/** The numeric bounds present: [keyword, exclusive] pairs. Draft-4 boolean flags are skipped. */
function bounds(
  schema: Record<string, unknown>,
  path: string,
  inclusive: string,
  exclusive: string,
): [string, boolean][] {
  const found: [string, boolean][] = [];
  for (const key of [inclusive, exclusive]) {
    if (!has(schema, key)) continue;
    const value = schema[key];
    if (key === exclusive && typeof value === "boolean") continue;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new Refusal(join(path, key), `'${key}' must be a number`);
    }
    found.push([key, key === exclusive]);
  }
  return found;
}

/** [multiple, denominator] of the values generated: k · multiple, or k / denominator. */
function numberUnit(
  schema: Record<string, unknown>,
  path: string,
  integer: boolean,
): [number, number] {
  if (!has(schema, "multipleOf")) return integer ? [1, 1] : [1, 100];
  const step = schema.multipleOf;
  if (typeof step === "number" && Number.isInteger(step) && step >= 1 && step <= 2 ** 32) {
    return [step, 1];
  }
  const fraction = [2, 4, 8, 16].find((d) => step === 1 / d);
  if (fraction !== undefined) return integer ? [1, 1] : [1, fraction];
  throw new Refusal(
    join(path, "multipleOf"),
    `'multipleOf' ${quote(step)} is not supported by verity-ngram-1: use a positive integer up to 2^32, or 1/2, 1/4, 1/8 or 1/16 (decimal steps cannot be checked exactly in binary floating point)`,
  );
}

/**
 * Moves the float estimate k to the exact boundary of a monotone `admits`: for direction −1
 * the smallest k it admits (a lower bound), for +1 the largest (an upper bound). The estimate
 * is off by a step or two at most.
 */
function settle(estimate: number, admits: (k: number) => boolean, direction: -1 | 1): number {
  let k = estimate;
  for (let steps = 0; !admits(k) || admits(k + direction); steps++) {
    if (steps > 64) throw new Error(`number bound near k = ${estimate} does not settle`);
    k += admits(k) ? direction : -direction;
  }
  return k;
}

function decodePointerToken(token: string): string | undefined {
  try {
    return decodeURIComponent(token).replaceAll("~1", "/").replaceAll("~0", "~");
  } catch {
    return undefined;
  }
}

function child(value: unknown, segment: string): unknown {
  if (Array.isArray(value)) return /^(0|[1-9]\d*)$/.test(segment) ? value[+segment] : undefined;
  if (isObject(value) && Object.hasOwn(value, segment)) return value[segment];
  return undefined;
}

function isJson(value: unknown, depth: number): boolean {
  if (depth > MAX_SCHEMA_DEPTH) return false;
  const inner = (item: unknown) => isJson(item, depth + 1);
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object":
      if (value === null) return true;
      if (Array.isArray(value)) return value.every(inner);
      return Object.values(value).every(inner);
    default:
      return false;
  }
}

function hasType(value: unknown, type: JsonType): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "integer":
      return Number.isInteger(value);
    case "array":
      return Array.isArray(value);
    case "object":
      return isObject(value);
    default:
      return typeof value === type;
  }
}

function deref(node: SchemaNode): SchemaNode {
  let current = node;
  for (let i = 0; current.kind === "ref" && i < 64; i++) current = current.target;
  return current;
}

/** The JSON types (integer counted as number) a node's values can have. */
function typesOf(node: SchemaNode, seen: Set<SchemaNode>): Set<string> {
  switch (node.kind) {
    case "null":
    case "boolean":
    case "number":
    case "array":
      return new Set([node.kind]);
    case "string":
    case "format":
      return new Set(["string"]);
    case "object":
    case "anyObject":
      return new Set(["object"]);
    case "values":
      return new Set(
        node.texts.map((text) => {
          const value: unknown = JSON.parse(text);
          return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
        }),
      );
    case "choice":
    case "ref": {
      if (seen.has(node)) return new Set();
      seen.add(node);
      const types = new Set<string>();
      for (const c of childrenOf(node)) for (const type of typesOf(c, seen)) types.add(type);
      return types;
    }
  }
}

function childrenOf(node: SchemaNode): readonly SchemaNode[] {
  switch (node.kind) {
    case "object":
      return node.properties.map((p) => p.node);
    case "array":
      return node.rest ? [...node.prefix, node.rest] : node.prefix;
    case "choice":
      return node.options;
    case "ref":
      return [node.target];
    default:
      return [];
  }
}

function sizeOf(node: SchemaNode, sizes: Map<SchemaNode, number>): number {
  if (node === ANY_VALUE) return 2;
  return childrenOf(node).length === 0 && node.kind !== "object" && node.kind !== "array"
    ? 1
    : (sizes.get(node) ?? Number.POSITIVE_INFINITY);
}

/** One step of the minimal-size fixpoint for `node`, from the current sizes of its children. */
function measure(node: SchemaNode, sizes: Map<SchemaNode, number>): number {
  switch (node.kind) {
    case "object": {
      let size = 1;
      for (const p of node.properties) if (p.required) size += sizeOf(p.node, sizes);
      return size;
    }
    case "array": {
      let size = 1;
      const fromPrefix = Math.min(node.minItems, node.prefix.length);
      for (let i = 0; i < fromPrefix; i++) size += sizeOf(node.prefix[i] ?? NULL_NODE, sizes);
      const fromRest = node.minItems - fromPrefix;
      if (fromRest > 0) size += fromRest * sizeOf(node.rest ?? NULL_NODE, sizes);
      return size;
    }
    case "choice": {
      let smallest = Number.POSITIVE_INFINITY;
      for (const option of node.options) smallest = Math.min(smallest, sizeOf(option, sizes));
      return 1 + smallest;
    }
    case "ref":
      return sizeOf(node.target, sizes);
    default:
      return 1;
  }
}
