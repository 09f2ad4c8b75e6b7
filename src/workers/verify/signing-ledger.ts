import { DurableObject } from "cloudflare:workers";
import type { Verdict } from "@verity/protocol/verdict";

/** The one ledger of a verifier deployment. */
export const SIGNING_LEDGER_NAME = "signed";

/** A batch a verifier is about to co-sign: its id and root. */
export interface CosignClaim {
  batchId: string;
  root: string;
  inferenceIds: readonly string[];
}

export type ClaimResult =
  | { ok: true }
  | { ok: false; reason: "batch_id_reused"; root: string }
  | { ok: false; reason: "already_cosigned"; index: number; batchId: string; root: string };

/**
 * What this verifier has signed, so that it signs nothing twice:
 * - each task it judged (by task digest and policy), with its verdict, until the task expires:
 *   the same task delivered again gets the same verdict, without judging it again;
 * - each record it co-signed, with the one batch (id and root) it signed it into, and each
 *   batch id with its root. It signs the same batch again (a settler re-sending a transaction
 *   needs that), but never a record into a second batch, nor a batch id with a second root, so
 *   no quorum it belongs to can put one inference into two settled batches.
 */
export class SigningLedger extends DurableObject<VerifyEnv> {
  private readonly sql = this.ctx.storage.sql;

  constructor(ctx: DurableObjectState, env: VerifyEnv) {
    super(ctx, env);
    this.sql.exec(
      "create table if not exists tasks (digest text primary key, verdict text not null, expires_at integer not null)",
    );
    this.sql.exec(
      "create table if not exists batches (batch_id text primary key, root text not null)",
    );
    this.sql.exec(
      `create table if not exists records (
         inference_id text primary key, batch_id text not null, root text not null)`,
    );
  }

  /** The verdict this verifier gave the task with `digest`, if it judged it and it has not expired. */
  async verdictFor(digest: string, now: number): Promise<Verdict | null> {
    const [row] = this.sql
      .exec<{ verdict: string }>(
        "select verdict from tasks where digest = ? and expires_at > ?",
        digest,
        now,
      )
      .toArray();
    return row ? (JSON.parse(row.verdict) as Verdict) : null;
  }

  /**
   * Records the verdict for the task with `digest` unless one is recorded already, and returns
   * the one that stands: two deliveries judged at once both answer with the first. Expired
   * tasks are forgotten here too (a verifier refuses them anyway).
   */
  async recordVerdict(
    digest: string,
    verdict: Verdict,
    expiresAt: number,
    now: number,
  ): Promise<Verdict> {
    this.sql.exec("delete from tasks where expires_at <= ?", now);
    this.sql.exec(
      "insert into tasks (digest, verdict, expires_at) values (?, ?, ?) on conflict do nothing",
      digest,
      JSON.stringify(verdict),
      expiresAt,
    );
    return (await this.verdictFor(digest, now)) ?? verdict;
  }

  /**
   * Binds the batch's records to it, unless that would co-sign something twice; all or none.
   * (No await between the reads and the writes: the Durable Object runs them as one.)
   */
  async claim(claim: CosignClaim): Promise<ClaimResult> {
    const [batch] = this.sql
      .exec<{ root: string }>("select root from batches where batch_id = ?", claim.batchId)
      .toArray();
    if (batch && batch.root !== claim.root) {
      return { ok: false, reason: "batch_id_reused", root: batch.root };
    }
    for (const [index, id] of claim.inferenceIds.entries()) {
      const [bound] = this.sql
        .exec<{ batch_id: string; root: string }>(
          "select batch_id, root from records where inference_id = ?",
          id,
        )
        .toArray();
      if (bound && (bound.batch_id !== claim.batchId || bound.root !== claim.root)) {
        return {
          ok: false,
          reason: "already_cosigned",
          index,
          batchId: bound.batch_id,
          root: bound.root,
        };
      }
    }
    this.sql.exec(
      "insert into batches (batch_id, root) values (?, ?) on conflict do nothing",
      claim.batchId,
      claim.root,
    );
    for (const id of claim.inferenceIds) {
      this.sql.exec(
        "insert into records (inference_id, batch_id, root) values (?, ?, ?) on conflict do nothing",
        id,
        claim.batchId,
        claim.root,
      );
    }
    return { ok: true };
  }
}
