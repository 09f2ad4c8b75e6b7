import { type Address, getAddress } from "viem";
import { invalidRequest } from "../../src/errors.ts";
import { sqlInteger, sqlString } from "./d1.ts";

/** A verifier the coordinator may put on committees: its address and where it takes tasks. */
export interface VerifierRegistration {
  address: Address;
  url: string;
}

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

function httpUrl(url: string): string {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw invalidRequest(`A verifier's URL must be http(s), not '${url}'.`, "url");
  }
  return url;
}
