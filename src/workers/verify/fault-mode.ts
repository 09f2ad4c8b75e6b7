/**
 * Deliberate misbehaviour, for demonstrating quorum and deadlines with real nodes:
 * - `always-invalid` runs the checks but signs "invalid" whatever they found;
 * - `silent` accepts tasks and never answers them (the request is held open);
 * - `wrong-key` signs verdicts and heartbeats with a random key, not its registered one,
 *   while still naming its registered address.
 */
export const FAULT_MODES = ["", "always-invalid", "silent", "wrong-key"] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export const isFaultMode = (value: string): value is FaultMode =>
  (FAULT_MODES as readonly string[]).includes(value);
