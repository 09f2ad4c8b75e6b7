import { BatchSignRequest } from "@verity/protocol/batch-sign-request";
import type { Context } from "hono";
import { batchRefusal } from "./batch-refusal";

/**
 * Reads and validates the body of `POST /v1/batches/sign`: 415 `unsupported_media_type` unless
 * JSON, 400 `malformed` for bad JSON or a body that is not a `BatchSignRequest` (with the field at
 * fault as `param`).
 */
export async function readBatchSignRequest(c: Context): Promise<BatchSignRequest> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) {
    throw batchRefusal(
      "unsupported_media_type",
      `Unsupported content type '${type || "(none)"}'. Send the request as JSON with 'Content-Type: application/json'.`,
    );
  }
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw batchRefusal("malformed", "The body is not valid JSON.");
  }
  const parsed = BatchSignRequest.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.map(String) ?? [];
  if (issue?.code === "unrecognized_keys") path.push(issue.keys[0] ?? "");
  const param = path.length ? path.join(".") : null;
  throw batchRefusal(
    "malformed",
    `The body is not a batch signing request${param ? `: '${param}'` : ""}: ${issue?.message ?? "invalid"}.`,
    param,
  );
}
