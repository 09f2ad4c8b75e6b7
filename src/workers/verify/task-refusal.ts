import { refusal, type VerityError } from "../../errors";
import type { TaskRefusal } from "./verifier-counters";

const STATUS = {
  malformed: 400,
  unsupported_media_type: 415,
  too_large: 413,
  unsigned_task: 401,
  bad_signature: 401,
  payload_mismatch: 400,
  wrong_coordinator: 403,
  wrong_verifier: 403,
  stale: 409,
  overloaded: 503,
} as const satisfies Record<TaskRefusal, number>;

/**
 * The error a refused task is answered with: its `code` is the refusal reason, its status says
 * who is at fault — 400/413/415 a malformed request, 401 no valid signature, 403 a signature by
 * another coordinator or a task for another verifier, 409 a task that is authentic but stale
 * (issued too long ago, or in the future, by this verifier's clock: resend a fresh one), 503 a
 * verifier at its limit of tasks in progress (send it again after `retry-after`).
 */
export function taskRefusal(
  reason: TaskRefusal,
  message: string,
  param: string | null = null,
): VerityError {
  const status = STATUS[reason];
  return refusal(status, reason, message, {
    param,
    ...(status === 503 ? { headers: { "retry-after": "1" } } : {}),
  });
}
