import { ProtocolError } from "@verity/protocol/protocol-error";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { VerityError } from "../errors";

/**
 * The one place errors become HTTP responses, always in OpenAI's error shape. A `VerityError`
 * is expected and answered as it says, a `ProtocolError` is a 400 with its reason as the code;
 * anything else is a bug, logged with its stack and
 * answered 500 without details.
 */
export function errorResponse(err: unknown): Response {
  if (err instanceof VerityError) {
    // Load shed on purpose (a 503 that says when to come back) is counted where it is shed, not
    // logged as a failure: under a burst it would drown the log.
    const shed = err.status === 503 && err.headers?.["retry-after"] !== undefined;
    if (err.status >= 500 && !shed)
      console.error(`${err.code}: ${err.message}`, err.details ?? "", err.cause ?? "");
    return Response.json(err.toJSON(), { status: err.status, headers: err.headers });
  }
  // A protocol rule refused something the caller sent: its reason is the code.
  if (err instanceof ProtocolError) {
    return errorResponse(
      new VerityError(err.message, {
        status: 400,
        type: "invalid_request_error",
        code: err.reason,
        param: err.path,
      }),
    );
  }
  if (err instanceof HTTPException) {
    return errorResponse(
      new VerityError(err.message || "The request could not be processed.", {
        status: err.status === 413 ? 413 : 400,
        type: "invalid_request_error",
        code: err.status === 413 ? "request_too_large" : "invalid_request",
      }),
    );
  }
  console.error("unhandled error", err);
  return Response.json(
    {
      error: {
        message: "The server had an error while processing your request.",
        type: "server_error",
        param: null,
        code: "internal_error",
      },
    },
    { status: 500 },
  );
}

export const onError = (err: Error, _c: Context) => errorResponse(err);
