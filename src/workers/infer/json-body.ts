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
  return validate(schema, body);
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
