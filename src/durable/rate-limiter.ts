import { DurableObject } from "cloudflare:workers";
import { z } from "zod";

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Whole seconds until one more request would be allowed; 0 when allowed. */
  retryAfterSeconds: number;
}

const LimitPerMinute = z.number().int().positive().max(1_000_000);

/**
 * A token bucket for one API key (one object per key id). It holds `limit` tokens and refills at
 * `limit` per minute, so bursts up to the limit are allowed and the sustained rate is the limit.
 *
 * The bucket lives in memory: the object stays resident while its key is busy, and an evicted
 * object wakes up with a full bucket, which is what an idle key has earned anyway. Persisting it
 * would put a storage write on every request for no real gain.
 */
export class RateLimiter extends DurableObject<Env> {
  private tokens = 0;
  private capacity = 0;
  private updatedAt = 0;

  take(limitPerMinute: number): RateLimitDecision {
    const limit = LimitPerMinute.parse(limitPerMinute);
    const now = Date.now();
    if (limit !== this.capacity) {
      // A changed limit applies at once; a new bucket starts full.
      this.tokens = this.capacity === 0 ? limit : Math.min(this.tokens, limit);
      this.capacity = limit;
    } else {
      this.tokens = Math.min(limit, this.tokens + ((now - this.updatedAt) * limit) / 60_000);
    }
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { allowed: true, limit, remaining: Math.floor(this.tokens), retryAfterSeconds: 0 };
    }
    const retryAfterSeconds = Math.max(1, Math.ceil(((1 - this.tokens) * 60) / limit));
    return { allowed: false, limit, remaining: 0, retryAfterSeconds };
  }
}
