/**
 * A value that a protocol rule refuses, thrown only where a result cannot carry it (canonical
 * JSON deep inside hashing). It names a reason code and the path at fault, and knows nothing of
 * HTTP: each worker decides what it means for its callers (see src/http/error-response.ts).
 */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  /** Machine-readable: `invalid_json_value`, `duplicate_signer`. */
  readonly reason: string;
  /** The field at fault, as a dotted path, or null for the value as a whole. */
  readonly path: string | null;

  constructor(message: string, reason: string, path: string | null = null) {
    super(message);
    this.reason = reason;
    this.path = path;
  }
}
