/** What `FairAdmission.admit` answers: a slot to give back when done, or a refusal. */
export type Admission = { ok: true; release: () => void } | { ok: false; share: number };

/**
 * Admits tasks up to `capacity` at once, shared fairly between lanes (one per API key, as the
 * coordinator labels them in each task's envelope). While several lanes want work, none holds
 * more than its share, so one key's burst cannot take every slot from another. A lane turned away
 * within `memoryMs` still counts as wanting work, so the slots a busy lane frees go to the lane
 * that was refused when it asks again, rather than to the busy lane's next task.
 */
export class FairAdmission {
  private readonly inFlight = new Map<string, number>();
  /** Lanes refused lately, by when; bounded so that a flood of lanes cannot grow it. */
  private readonly refused = new Map<string, number>();
  private total = 0;

  constructor(
    readonly capacity: number,
    private readonly memoryMs = 5_000,
    private readonly maxRemembered = 10_000,
  ) {}

  /** Tasks in progress, over every lane. */
  get judging(): number {
    return this.total;
  }

  admit(lane: string, now = Date.now()): Admission {
    for (const [waiting, at] of this.refused) {
      if (now - at > this.memoryMs) this.refused.delete(waiting);
    }
    const wanting = new Set([...this.inFlight.keys(), ...this.refused.keys(), lane]).size;
    const share = Math.max(1, Math.ceil(this.capacity / wanting));
    const mine = this.inFlight.get(lane) ?? 0;
    if (this.total >= this.capacity || mine >= share) {
      if (this.refused.has(lane) || this.refused.size < this.maxRemembered) {
        this.refused.set(lane, now);
      }
      return { ok: false, share };
    }
    this.refused.delete(lane);
    this.inFlight.set(lane, mine + 1);
    this.total++;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.inFlight.get(lane) ?? 1) - 1;
        if (left > 0) this.inFlight.set(lane, left);
        else this.inFlight.delete(lane);
      },
    };
  }
}
