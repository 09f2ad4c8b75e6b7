/**
 * Deliberate misbehaviour, for demonstrating quorum and deadlines with real nodes:
 * - `always-invalid` runs the checks but signs "invalid" whatever they found, claiming its rules
 *   check failed (`fault_mode`) so that the lie is consistent, and refuses to co-sign any
 *   settlement batch (409 `fault_mode_refused`);
 * - `silent` accepts tasks and co-signing requests and never answers them (the request is held
 *   open);
 * - `wrong-key` signs verdicts, heartbeats and batches with a random key, not its registered
 *   one, while still naming its registered address.
 */
export const FAULT_MODES = ["", "always-invalid", "silent", "wrong-key"] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export const isFaultMode = (value: string): value is FaultMode =>
  (FAULT_MODES as readonly string[]).includes(value);
