/**
 * The moments at which the network is tested for crashes: a record must be neither lost nor
 * settled twice whichever of them a process dies at.
 */
export const CRASH_POINTS = [
  /** The gateway answered with a receipt; the verification round has not started. */
  "after-receipt",
  /** The round is decided and written to D1; its outcome is not on the settlement queue. */
  "decided-not-queued",
  /** The settler received the outcome from the queue; it has not stored it. */
  "queued-not-stored",
  /** The settlement transaction was sent; the settler has not seen it mined. */
  "sent-not-mined",
  /** The transaction is mined and deep enough; the batch is not marked confirmed. */
  "mined-not-marked",
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

const armed = new Set<CrashPoint>();

/**
 * The one seam for crash tests: arms `point` in this isolate, so that the next time production
 * code reaches it, it crashes there (once). Nothing arms a point in production.
 */
export function armCrashPoint(point: CrashPoint): void {
  armed.add(point);
}

/** Disarms every crash point, reached or not. */
export function disarmCrashPoints(): void {
  armed.clear();
}

export class CrashPointReached extends Error {
  override readonly name = "CrashPointReached";
  constructor(readonly point: CrashPoint) {
    super(`crash point ${point} reached`);
  }
}

/**
 * Where a crash is tested; nothing happens unless a test armed `point`. Then a Durable Object
 * (pass its `state`) is reset as a crashed process would leave it, with its memory and any
 * unfinished work gone, and any other code stops with `CrashPointReached`.
 */
export function crashPoint(point: CrashPoint, state?: DurableObjectState): void {
  if (!armed.delete(point)) return;
  console.warn(`crash point ${point} reached`);
  state?.abort(`crash point ${point}`);
  throw new CrashPointReached(point);
}
