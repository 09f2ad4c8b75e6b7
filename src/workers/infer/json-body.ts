import type { Context } from "hono";
import type { z } from "zod";
import { invalidRequest, VerityError } from "../../errors";

/** Reads and validates a JSON body: 415 for another media type, 400 for bad JSON or fields. */
export async function parseJsonBody<T extends z.ZodType>(
  c: Context,
  schema: T,
): Promise<z.output<T>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) {
    throw new VerityError(
      `Unsupported content type '${type || "(none)"}'. Send the body as JSON with 'Content-Type: application/json'.`,
      { status: 415, type: "invalid_request_error", code: "unsupported_media_type" },
    );
  }
  let body: unknown;
  try {
    body = await c.req.json();
  } catch (cause) {
    if (cause instanceof VerityError) throw cause;
    throw invalidRequest(
      "We could not parse the JSON body of your request. Check that it is valid JSON.",
      null,
      "invalid_json",
    );
  }
  checkJsonShape(body);
  return validate(schema, body);
}

/** How deep a request body may nest; real schemas and conversations stay far below it. */
export const MAX_JSON_DEPTH = 128;

// In a `u` regex a well-formed surrogate pair is one code point, so this matches only a
// surrogate without its partner: text with no UTF-8 encoding, which no hash can commit to.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Refuses, before anything reads it, a body that nests deeper than MAX_JSON_DEPTH or holds a
 * number too large to be finite or a lone surrogate anywhere (a key, a schema's enum value, an annotation). Either one would
 * otherwise surface later, in code that walks the whole value (canonical hashing, schema
 * compiling) and cannot name the field: as a 500, or as a record whose round cannot start.
 * Iterative, so that the check itself cannot overflow the stack.
 */
export function checkJsonShape(body: unknown): void {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value: body, path: [] }];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const { value, path } = next;
    const where = () => (path.length > 0 ? path.join(".") : null);
    if (typeof value === "string") {
      if (LONE_SURROGATE.test(value)) {
        throw invalidRequest(
          `Invalid '${where()}': contains a lone surrogate (not valid Unicode).`,
          where(),
          "invalid_json_value",
        );
      }
      continue;
    }
    if (typeof value === "number" && !Number.isFinite(value)) {
      // JSON.parse reads 1e999 as Infinity, which no hash can commit to.
      throw invalidRequest(
        `Invalid '${where()}': ${value} is not a finite number.`,
        where(),
        "invalid_json_value",
      );
    }
    if (typeof value !== "object" || value === null) continue;
    if (path.length >= MAX_JSON_DEPTH) {
      throw invalidRequest(
        `Invalid '${where()}': the body nests deeper than ${MAX_JSON_DEPTH} levels.`,
        where(),
        "too_deep",
      );
    }
    const entries = Array.isArray(value) ? value.entries() : Object.entries(value);
    for (const [key, child] of entries) {
      if (typeof key === "string" && LONE_SURROGATE.test(key)) {
        const at = [...path, key].join(".");
        throw invalidRequest(
          `Invalid '${at}': a key contains a lone surrogate (not valid Unicode).`,
          at,
          "invalid_json_value",
        );
      }
      stack.push({ value: child, path: [...path, key] });
    }
  }
}

export function validate<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue && issue.path.length > 0 ? issue.path.join(".") : null;
  if (issue?.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    const where = param ? `${param}.${key}` : key;
    throw invalidRequest(
      `Unrecognized request argument supplied: ${where}`,
      where,
      "unknown_parameter",
    );
  }
  const message = issue?.message ?? "Invalid request.";
  throw invalidRequest(param ? `Invalid '${param}': ${message}` : message, param);
}
