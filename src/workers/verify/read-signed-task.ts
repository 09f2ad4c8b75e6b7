import { type TaskEnvelope, taskBodyHash } from "@verity/protocol/task-envelope";
import {
  type SignedTask,
  SignedTask as SignedTaskSchema,
} from "@verity/protocol/verification-task";
import type { Context } from "hono";
import { taskRefusal } from "./task-refusal";

/**
 * Reads and validates the body of `POST /v1/tasks`: 415 `unsupported_media_type` unless JSON,
 * 400 `payload_mismatch` for bytes other than the ones `envelope` signed (checked before they
 * are parsed), 400 `malformed` for bad JSON or a body that is not a `SignedTask` (with the field
 * at fault as `param`), 401 `unsigned_task` for a task without a signature.
 */
export async function readSignedTask(c: Context, envelope: TaskEnvelope): Promise<SignedTask> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) {
    throw taskRefusal(
      "unsupported_media_type",
      `Unsupported content type '${type || "(none)"}'. Send the task as JSON with 'Content-Type: application/json'.`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await c.req.arrayBuffer());
  } catch {
    // The sender hung up mid-body (the coordinator gives up at its deadline): nobody is waiting.
    throw taskRefusal("malformed", "The body could not be read to its end.");
  }
  if (taskBodyHash(bytes) !== envelope.bodyHash) {
    throw taskRefusal(
      "payload_mismatch",
      "The body is not the one the coordinator's envelope signed.",
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw taskRefusal("malformed", "The body is not valid JSON.");
  }
  const parsed = SignedTaskSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  if (typeof body === "object" && body !== null && !("signature" in body)) {
    throw taskRefusal(
      "unsigned_task",
      "The task is not signed: tasks are accepted only with the coordinator's signature.",
      "signature",
    );
  }
  const issue = parsed.error.issues[0];
  const param = issue?.path.length ? issue.path.join(".") : null;
  throw taskRefusal(
    "malformed",
    `The body is not a signed verification task${param ? `: '${param}'` : ""}: ${issue?.message ?? "invalid"}.`,
    param,
  );
}
