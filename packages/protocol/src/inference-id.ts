import { uuidv7 } from "uuidv7";
import { z } from "zod";

/**
 * An inference id: a lowercase UUIDv7 (RFC 9562). Its first 48 bits are the creation
 * time in unix ms, so ids sort by creation time as plain strings.
 */
export const InferenceId = z
  .string()
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    "must be a lowercase UUIDv7",
  );
export type InferenceId = z.infer<typeof InferenceId>;

/** A fresh inference id. Ids made by one isolate are strictly increasing, even within a millisecond. */
export function newInferenceId(): InferenceId {
  return uuidv7();
}

/** The creation time (unix ms) embedded in an inference id. */
export function inferenceIdTimestamp(id: InferenceId): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
