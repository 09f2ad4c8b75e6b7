/**
 * Requests per key in fixed one-minute windows, in this isolate's memory. The public routes'
 * limits live here rather than in a Durable Object or D1: a request that has shown no credential
 * yet must not buy durable work. Each isolate counts alone, so a client meets the limit per
 * isolate; memory is bounded by `maxKeys`, past which new keys are refused for the rest of the
 * window (a flood from many addresses then limits itself, not the isolate).
 */
export type MinuteCharge = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class MinuteCounter {
  private window = 0;
  private readonly counts = new Map<string, number>();

  constructor(
    readonly limit: number,
    private readonly maxKeys = 50_000,
  ) {}

  /** Charges one request to `key`: allowed, or how long until the next window. */
  take(key: string, now = Date.now()): MinuteCharge {
    const verdict = this.check(key, now);
    if (verdict.allowed) this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    return verdict;
  }

  /** Whether `key` may make one more request now, without charging it. */
  check(key: string, now = Date.now()): MinuteCharge {
    const window = Math.floor(now / 60_000);
    if (window !== this.window) {
      this.window = window;
      this.counts.clear();
    }
    const used = this.counts.get(key) ?? 0;
    if (used >= this.limit || (used === 0 && this.counts.size >= this.maxKeys)) {
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, Math.ceil(((window + 1) * 60_000 - now) / 1000)),
      };
    }
    return { allowed: true };
  }
}
