/** OpenAI's error `type` values, plus the statuses Verity answers with. */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "api_error"
  | "service_unavailable";

export interface VerityErrorOptions {
  status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 502 | 503 | 504;
  type: ErrorType;
  /** Machine-readable code, OpenAI style: `invalid_value`, `model_not_found`, ... */
  code: string;
  /** The request field at fault, as a dotted path (`messages.0.role`). */
  param?: string | null;
  cause?: unknown;
  /** Extra structured context for logs; never sent to clients. */
  details?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/**
 * The one error class of the project. Every expected failure is a `VerityError`; the
 * gateway maps it to OpenAI's `{ error: { message, type, param, code } }` shape in one place.
 * Anything else reaching the error handler is a bug and becomes a 500.
 */
export class VerityError extends Error {
  readonly status: VerityErrorOptions["status"];
  readonly type: ErrorType;
  readonly code: string;
  readonly param: string | null;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(message: string, options: VerityErrorOptions) {
    super(message, { cause: options.cause });
    this.name = "VerityError";
    this.status = options.status;
    this.type = options.type;
    this.code = options.code;
    this.param = options.param ?? null;
    this.details = options.details;
    this.headers = options.headers;
  }

  toJSON() {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }

  /**
   * The same refusal about another field, for an API that names its fields otherwise than the
   * request it was translated to. The message names the new field where it named the old one,
   * as a whole name only ("id" is not replaced inside "Invalid").
   */
  withParam(param: string): VerityError {
    const old = this.param;
    const named = old
      ? new RegExp(`(?<![\\w.])${old.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w])`, "g")
      : undefined;
    return new VerityError(named ? this.message.replace(named, param) : this.message, {
      status: this.status,
      type: this.type,
      code: this.code,
      param,
      details: this.details,
      headers: this.headers,
      cause: this.cause,
    });
  }
}

/**
 * OpenAI's error `type` for a refusal's status: 401 authentication, 403 permission, 429 rate
 * limit, 503 unavailable, 502/504 an upstream's fault, anything else the request's.
 */
export function errorTypeFor(status: VerityErrorOptions["status"]): ErrorType {
  switch (status) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 429:
      return "rate_limit_error";
    case 503:
      return "service_unavailable";
    case 502:
    case 504:
      return "api_error";
    default:
      return "invalid_request_error";
  }
}

/** A refusal whose code is its reason and whose type follows from its status. */
export const refusal = (
  status: VerityErrorOptions["status"],
  code: string,
  message: string,
  options: Pick<VerityErrorOptions, "param" | "headers" | "cause"> = {},
) => new VerityError(message, { status, type: errorTypeFor(status), code, ...options });

export const invalidRequest = (
  message: string,
  param: string | null = null,
  code = "invalid_value",
) => new VerityError(message, { status: 400, type: "invalid_request_error", code, param });

export const notFound = (message: string, code = "not_found", param: string | null = null) =>
  new VerityError(message, { status: 404, type: "invalid_request_error", code, param });

/** A backend failed (502) or is unreachable/overloaded (503). */
export const upstreamError = (
  message: string,
  options: { status?: 502 | 503 | 504; cause?: unknown; details?: Record<string, unknown> } = {},
) =>
  new VerityError(message, {
    status: options.status ?? 502,
    type: options.status === 503 ? "service_unavailable" : "api_error",
    code: options.status === 503 ? "backend_unavailable" : "backend_error",
    cause: options.cause,
    details: options.details,
  });
