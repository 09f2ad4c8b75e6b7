import { VerityError } from "../../src/errors.ts";

/**
 * A local tool failed for a reason outside the request: a process that would not start or
 * died, a database that answered with an error. Scripts print the message and exit non-zero.
 */
export const toolFailure = (
  message: string,
  code: string,
  options: { cause?: unknown; details?: Record<string, unknown> } = {},
) =>
  new VerityError(message, {
    status: 503,
    type: "service_unavailable",
    code,
    cause: options.cause,
    details: options.details,
  });

/** Something already holds what we need: a port, a state directory. */
export const conflict = (message: string, code: string) =>
  new VerityError(message, { status: 409, type: "invalid_request_error", code });
