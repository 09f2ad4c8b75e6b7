import canonicalize from "canonicalize";
import { type Hex, stringToBytes } from "viem";
import { z } from "zod";
import { keccak256 } from "./keccak256";
import { ProtocolError } from "./protocol-error";

// In a `u` regex a well-formed surrogate pair is one code point, so this only
// matches a surrogate that has no partner: text that has no UTF-8 encoding.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * A string that can be hashed: well-formed Unicode (no lone surrogate, which
 * JSON can carry as `"\ud800"` but UTF-8 cannot encode).
 */
export const JsonString = z
  .string()
  .refine((s) => !LONE_SURROGATE.test(s), "contains a lone surrogate (not valid Unicode)");

const notJson = (message: string, path: readonly (string | number)[]) =>
  new ProtocolError(
    `Cannot canonicalise: ${path.length ? `${path.join(".")} ` : ""}${message}`,
    "invalid_json_value",
    path.length ? path.join(".") : null,
  );

// canonicalize mirrors JSON.stringify, which silently turns `undefined` into
// `null` (arrays) or drops it (objects) and calls `toJSON`. A hash must commit
// to exactly what the caller holds, so anything outside the JSON data model is
// refused here instead.
function assertJson(value: unknown, path: (string | number)[], ancestors: Set<object>): void {
  switch (typeof value) {
    case "boolean":
      return;
    case "string":
      if (LONE_SURROGATE.test(value)) throw notJson("contains a lone surrogate", path);
      return;
    case "number":
      if (!Number.isFinite(value)) throw notJson(`is ${value}, which JSON cannot represent`, path);
      return;
    case "object": {
      if (value === null) return;
      if (ancestors.has(value)) throw notJson("is a circular reference", path);
      ancestors.add(value);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          path.push(i);
          assertJson(value[i], path, ancestors);
          path.pop();
        }
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          throw notJson(`is a ${proto?.constructor?.name ?? "non-plain"} object, not JSON`, path);
        }
        for (const [key, child] of Object.entries(value)) {
          if (LONE_SURROGATE.test(key)) throw notJson("has a key with a lone surrogate", path);
          path.push(key);
          assertJson(child, path, ancestors);
          path.pop();
        }
      }
      ancestors.delete(value);
      return;
    }
    default:
      throw notJson(`is ${typeof value}, which JSON cannot represent`, path);
  }
}

/**
 * The RFC 8785 (JCS) canonical JSON text of `value`: object keys sorted by UTF-16
 * code units, no whitespace, numbers as ECMAScript prints them (`1e+21`, `0.1`,
 * `-0` → `0`), strings minimally escaped.
 *
 * @throws ProtocolError (`invalid_json_value`, `path` at fault) for anything outside
 * the JSON data model: NaN, ±Infinity, `undefined` (anywhere), bigint, functions,
 * symbols, non-plain objects (Date, Map, class instances), cycles, lone surrogates.
 */
export function canonicalJson(value: unknown): string {
  assertJson(value, [], new Set());
  const json = canonicalize(value);
  // Unreachable after assertJson; keeps the return type honest.
  if (json === undefined) throw notJson("has no JSON representation", []);
  return json;
}

/** keccak256 of the UTF-8 bytes of `canonicalJson(value)`. */
export function hashCanonical(value: unknown): Hex {
  return keccak256(stringToBytes(canonicalJson(value)));
}
