import { and, eq, gte, isNull, lt, notInArray, or, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { getAddress } from "viem";
import { verdicts, verifiers } from "./schema";

export interface VerifierEntry {
  address: `0x${string}`;
  url: string;
  /** The policy its newest heartbeat announced: its verdicts must be made under it. */
  policyHash?: string | null;
}

export interface HeartbeatUpdate {
  address: string;
  /** The heartbeat's signed timestamp: only a newer one than the last taken is recorded. */
  timestamp: number;
  url: string;
  policyHash: string;
  version: string;
  models: string[];
}

/**
 * The coordinator's view of which verifiers exist. D1 holds it today; the settlement layer makes
 * an on-chain registry the source of truth and keeps this table in step with it through
 * `register`/`remove`, so callers depend only on these methods.
 */
export class VerifierRegistry {
  private readonly db;
  constructor(d1: D1Database) {
    this.db = drizzle(d1);
  }

  /** Registered verifiers whose last heartbeat is within `ttlMs`: the only ones put on committees. */
  async active(now: number, ttlMs: number): Promise<VerifierEntry[]> {
    const rows = await this.db
      .select({ address: verifiers.address, url: verifiers.url, policyHash: verifiers.policyHash })
      .from(verifiers)
      .where(and(eq(verifiers.status, "active"), gte(verifiers.lastSeenAt, now - ttlMs)));
    return rows.map((r) => ({
      address: getAddress(r.address),
      url: r.url,
      policyHash: r.policyHash,
    }));
  }

  async isRegistered(address: string): Promise<boolean> {
    const [row] = await this.db
      .select({ status: verifiers.status })
      .from(verifiers)
      .where(eq(verifiers.address, getAddress(address)));
    return row?.status === "active";
  }

  /** Adds or re-activates a verifier. Idempotent. */
  async register(address: string, url: string, now: number): Promise<void> {
    await this.db
      .insert(verifiers)
      .values({ address: getAddress(address), url, registeredAt: now })
      .onConflictDoUpdate({ target: verifiers.address, set: { status: "active", url } });
  }

  /**
   * Makes this table follow an authoritative list (the on-chain VerifierRegistry): verifiers
   * not on it are removed, and listed ones are (re)activated. A newly listed verifier has no URL
   * until its first heartbeat, and is not picked for a committee before that.
   */
  async syncWith(addresses: readonly string[], now: number): Promise<{ removed: number }> {
    const listed = addresses.map((a) => getAddress(a));
    const removed = await this.db
      .update(verifiers)
      .set({ status: "removed" })
      .where(
        listed.length > 0
          ? and(eq(verifiers.status, "active"), notInArray(verifiers.address, listed))
          : eq(verifiers.status, "active"),
      )
      .returning({ address: verifiers.address });
    for (const address of listed) {
      await this.db
        .insert(verifiers)
        .values({ address, url: "", registeredAt: now })
        .onConflictDoUpdate({ target: verifiers.address, set: { status: "active" } });
    }
    return { removed: removed.length };
  }

  async remove(address: string): Promise<void> {
    await this.db
      .update(verifiers)
      .set({ status: "removed" })
      .where(eq(verifiers.address, getAddress(address)));
  }

  /**
   * Records a heartbeat if it is newer than the last one taken, in one conditional write: a
   * replayed or reordered heartbeat (an old URL, say) changes nothing. False if it was not newer.
   */
  async recordHeartbeat(update: HeartbeatUpdate, now: number): Promise<boolean> {
    const updated = await this.db
      .update(verifiers)
      .set({
        url: update.url,
        lastSeenAt: now,
        heartbeatAt: update.timestamp,
        policyHash: update.policyHash,
        version: update.version,
        models: update.models,
      })
      .where(
        and(
          eq(verifiers.address, getAddress(update.address)),
          or(isNull(verifiers.heartbeatAt), lt(verifiers.heartbeatAt, update.timestamp)),
        ),
      )
      .returning({ address: verifiers.address });
    return updated.length > 0;
  }

  /** Every registration with its votes cast and how often it agreed with the final outcome. */
  async list(now: number, ttlMs: number) {
    const rows = await this.db
      .select({
        address: verifiers.address,
        url: verifiers.url,
        status: verifiers.status,
        lastSeenAt: verifiers.lastSeenAt,
        policyHash: verifiers.policyHash,
        version: verifiers.version,
        models: verifiers.models,
        votes: sql<number>`(select count(*) from ${verdicts} where ${verdicts.verifier} = ${verifiers.address})`,
        agreements: sql<number>`(select count(*) from ${verdicts} where ${verdicts.verifier} = ${verifiers.address} and ${verdicts.agreed} = 1)`,
      })
      .from(verifiers)
      .orderBy(verifiers.address);
    return rows.map((r) => ({
      ...r,
      online: r.status === "active" && r.lastSeenAt !== null && r.lastSeenAt >= now - ttlMs,
    }));
  }
}
