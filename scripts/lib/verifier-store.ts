import { type Address, getAddress } from "viem";
import { z } from "zod";
import { invalidRequest } from "../../src/errors.ts";
import { type D1Options, type D1Target, executeD1, sqlInteger, sqlString } from "./d1.ts";
import { toolFailure } from "./script-error.ts";

/** A verifier the coordinator may put on committees: its address and where it takes tasks. */
export interface VerifierRegistration {
  address: Address;
  url: string;
}

/** What `verifiers` rows say after `registerVerifiers`. */
export interface RegisteredVerifier {
  address: Address;
  url: string;
  status: "active" | "removed";
  registeredAt: number;
}

const Row = z
  .object({
    address: z.string(),
    url: z.string(),
    status: z.enum(["active", "removed"]),
    registered_at: z.number(),
  })
  .transform(
    (row): RegisteredVerifier => ({
      address: getAddress(row.address),
      url: row.url,
      status: row.status,
      registeredAt: row.registered_at,
    }),
  );

/**
 * The statements that register `verifiers` with the coordinator's D1 (as
 * `VerifierRegistry.register` does: checksummed address, re-activated and re-pointed at its URL
 * if it was there already) and mark `retired` ones removed. A registration also forgets when
 * the verifier was last seen: for a network that is starting, that was its previous run, and
 * only a heartbeat of this run may show it online.
 */
export function verifierRegistrationStatements(
  verifiers: readonly VerifierRegistration[],
  retired: readonly Address[] = [],
  now = Date.now(),
): string[] {
  const statements: string[] = [];
  if (verifiers.length > 0) {
    const rows = verifiers.map(
      (v) =>
        `(${sqlString(getAddress(v.address))}, ${sqlString(httpUrl(v.url))}, 'active', ${sqlInteger(now)})`,
    );
    statements.push(
      `INSERT INTO verifiers (address, url, status, registered_at) VALUES ${rows.join(", ")} ` +
        "ON CONFLICT (address) DO UPDATE SET url = excluded.url, status = 'active', last_seen_at = NULL",
    );
  }
  if (retired.length > 0) {
    const list = retired.map((a) => sqlString(getAddress(a))).join(", ");
    statements.push(`UPDATE verifiers SET status = 'removed' WHERE address IN (${list})`);
  }
  return statements;
}

/** Runs `verifierRegistrationStatements` and returns the rows of every verifier named, by address. */
export async function registerVerifiers(
  target: D1Target,
  verifiers: readonly VerifierRegistration[],
  retired: readonly Address[] = [],
  options: D1Options & { now?: number } = {},
): Promise<RegisteredVerifier[]> {
  const all = [...verifiers.map((v) => v.address), ...retired];
  if (all.length === 0) return [];
  const list = all.map((a) => sqlString(getAddress(a))).join(", ");
  const results = await executeD1(
    target,
    [
      ...verifierRegistrationStatements(verifiers, retired, options.now),
      `SELECT address, url, status, registered_at FROM verifiers WHERE address IN (${list}) ORDER BY address`,
    ].join("; "),
    options,
  );
  const parsed = z.array(Row).safeParse(results.at(-1) ?? []);
  if (!parsed.success) {
    throw toolFailure(
      `The verifiers table has an unexpected shape: ${parsed.error.message}`,
      "d1_shape",
    );
  }
  return parsed.data;
}

function httpUrl(url: string): string {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw invalidRequest(`A verifier's URL must be http(s), not '${url}'.`, "url");
  }
  return url;
}
