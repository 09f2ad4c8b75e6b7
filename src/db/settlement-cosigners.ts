import { asc, desc, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { getAddress } from "viem";
import { verifiers } from "./schema";
import type { VerifierEntry } from "./verifier-registry";

/**
 * The verifiers a settler asks to co-sign: every active registration, most recently seen first
 * (the likeliest to answer), then by address so the order is stable.
 */
export async function cosignCandidates(d1: D1Database): Promise<VerifierEntry[]> {
  const rows = await drizzle(d1)
    .select({ address: verifiers.address, url: verifiers.url })
    .from(verifiers)
    .where(eq(verifiers.status, "active"))
    .orderBy(
      sql`${verifiers.lastSeenAt} is null`,
      desc(verifiers.lastSeenAt),
      asc(verifiers.address),
    );
  return rows.map((r) => ({ address: getAddress(r.address), url: r.url }));
}
