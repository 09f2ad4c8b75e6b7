import { DurableObject } from "cloudflare:workers";
import {
  ledgerDomain,
  type RoundOutcome,
  type SettlementBatch,
  settlementBatchToJson,
  settlementSignatures,
  signBatchProposal,
} from "@verity/protocol";
import type { Address, Hex } from "viem";
import { crashPoint } from "../crash-point";
import type { SettlementBatchRow } from "../db/schema";
import {
  type BatchChanges,
  batchByKey,
  confirmBatch,
  createSettlementBatch,
  dissolveBatch,
  type LedgerScope,
  nextBatchId,
  openBatches,
  recentlyConfirmedBatches,
  reopenBatch,
  updateBatch,
} from "../db/settlement-batches";
import { cosignCandidates } from "../db/settlement-cosigners";
import {
  batchOutcomes,
  restoreRecords,
  setAsideCount,
  setAsideRecords,
  setAsideRecordsToRecheck,
  unbatchedCount,
  unbatchedRecords,
} from "../db/settlement-records";
import { buildBatchTree } from "../db/settlement-tree";
import { VerityError } from "../errors";
import { chooseNonce } from "../workers/settle/choose-nonce";
import { collectCosignatures } from "../workers/settle/collect-cosignatures";
import { type OutcomeQuorum, outcomeQuorum } from "../workers/settle/outcome-quorum";
import { type SettleConfig, settleConfig } from "../workers/settle/settle-config";
import { type SettleCall, SettlementChain, shortMessage } from "../workers/settle/settlement-chain";

/** What one tick did. */
export type TickResult =
  | { status: "busy"; since: number }
  | {
      status: "ran";
      startedAt: number;
      finishedAt: number;
      /** Ledger batch ids, per what happened to them this tick. */
      built: number[];
      submitted: number[];
      confirmed: number[];
      /** Batches that could not move on, and why. */
      waiting: { batchId: number; reason: string }[];
      /** Inference ids set aside this tick (not batched: see `outcomeQuorum`), and put back. */
      setAside: string[];
      restored: string[];
      /** Batches dissolved this tick: nobody co-signed them, and co-signers refused a record. */
      dissolved: number[];
      /** What stopped the tick early (the RPC endpoint is down, ...), if anything. */
      error: string | null;
    };

/** The settler as its status view shows it. */
export interface SettlerStatus {
  settler: Address | null;
  chainId: number | null;
  ledger: Address | null;
  lease: { since: number; until: number } | null;
  lastNonce: number | null;
  lastTick: TickResult | null;
  ticks: number;
  unbatched: number;
  /** Records set aside: decided, but not settleable now (their reason is on each record). */
  setAside: number;
  open: {
    batchId: number;
    status: SettlementBatchRow["status"];
    count: number;
    root: string;
    reason: string | null;
    txHash: string | null;
    nonce: number | null;
    blockNumber: number | null;
    submissions: number;
  }[];
  error: string | null;
}

/** A lease outlives any tick (every network call has a timeout) but not a stuck one. */
const LEASE_MS = 10 * 60 * 1000;
/** New batches built per tick: bounds a tick's length when a backlog has piled up. */
const MAX_NEW_BATCHES_PER_TICK = 5;
/** How far back a restarted settler checks its confirmations against the chain. */
const AUDIT_WINDOW_MS = 15 * 60 * 1000;
/** At most this many of them, newest first: one ledger read each. */
const AUDIT_MAX_BATCHES = 100;
/** Set-aside records checked again per tick, the longest aside first. */
const RECHECK_PER_TICK = 100;
/** Free batch ids probed on the ledger when ours turns out taken by someone else. */
const MAX_ID_PROBES = 100;
/** The ledger's errors that mean the signatures no longer satisfy it: co-sign again. */
const SIGNATURE_ERRORS = new Set([
  "TooFewSignatures",
  "InvalidSignature",
  "SignerNotRegistered",
  "DuplicateSigner",
  "UnsortedSigners",
]);
const ZERO_ROOT = `0x${"0".repeat(64)}`;

type Step = "submitted" | "waiting" | "confirmed" | "blocked" | "unsigned" | "dissolved";

/** A batch that cannot move on this tick; the tick goes on with other work where it can. */
class Blocked extends Error {}

/**
 * A batch too few verifiers co-signed. That is the batch's own trouble (a record the co-signers
 * refuse, or verifiers away), so it waits alone: the batches after it go ahead.
 */
class Unsigned extends Blocked {}

/** A batch no verifier co-signed, refused for some of its records: it was dissolved. */
class Dissolved extends Error {}

/** How a co-signers' refusal starts a set-aside record's reason. */
const REFUSED_BY_COSIGNERS = "refused_by_cosigners";
/**
 * A record co-signers refused is offered again after this long (a verifier may have been
 * misconfigured, and fixed); in the meantime it is not batched with anyone.
 */
const COSIGNER_REFUSAL_RETRY_MS = 10 * 60 * 1000;

/**
 * Unsigned batches held open at once before no more are built: while every verifier is away,
 * records wait unbatched rather than pile into batches nobody signs.
 */
const MAX_UNSIGNED_BATCHES = 2;

/**
 * Settles stored round outcomes on the ledger, one instance per signing key (`getByName(address)`
 * of `SETTLER_KEY`). Each `tick()` follows up submitted batches (confirmations, dropped
 * transactions, reorgs), then co-signs and submits pending ones, then builds new batches from
 * unbatched records, oldest first.
 *
 * A lease in storage lets one tick run at a time (a concurrent tick answers "busy"), however
 * crons and alarms overlap. Batches, their trees and transactions live in D1, written before
 * anything is sent, so a crash at any point resumes from there; nonces are chosen so that a
 * re-sent batch reuses its own and no two batches ever share one.
 */
export class Settler extends DurableObject<SettleEnv> {
  private readonly sql: SqlStorage;
  private readonly instance = crypto.randomUUID();
  /** Whether this instance has checked recent confirmations against the chain (see auditConfirmed). */
  private audited = false;

  constructor(ctx: DurableObjectState, env: SettleEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      create table if not exists lease (
        id integer primary key check (id = 1),
        holder text,
        instance text,
        acquired_at integer,
        expires_at integer
      );
      create table if not exists state (
        id integer primary key check (id = 1),
        last_nonce integer,
        last_tick text,
        ticks integer not null default 0
      );
      insert or ignore into state (id, ticks) values (1, 0);
      create table if not exists nonces (
        nonce integer not null,
        batch integer not null,
        tx_hash text not null,
        signed_at integer not null,
        primary key (nonce, tx_hash)
      );
    `);
  }

  /** One settlement pass; "busy" if another is running. */
  async tick(): Promise<TickResult> {
    const startedAt = Date.now();
    const token = this.acquire(startedAt);
    if (!token) return { status: "busy", since: this.leaseRow()?.since ?? startedAt };
    const result: Extract<TickResult, { status: "ran" }> = {
      status: "ran",
      startedAt,
      finishedAt: startedAt,
      built: [],
      submitted: [],
      confirmed: [],
      waiting: [],
      setAside: [],
      restored: [],
      dissolved: [],
      error: null,
    };
    try {
      await this.run(token, result);
    } catch (error) {
      result.error =
        error instanceof VerityError ? `${error.code}: ${error.message}` : String(error);
      if (!(error instanceof VerityError && error.status === 503)) {
        console.error("settlement tick failed", error);
      } else {
        console.warn(`settlement tick stopped: ${result.error}`);
      }
    } finally {
      result.finishedAt = Date.now();
      this.sql.exec(
        "update state set last_tick = ?, ticks = ticks + 1 where id = 1",
        JSON.stringify(result),
      );
      this.sql.exec("update lease set holder = null where id = 1 and holder = ?", token);
    }
    return result;
  }

  /** Arms the alarm when SETTLE_INTERVAL_MS asks for one; returns when it fires, if it does. */
  async arm(): Promise<number | null> {
    const interval = intervalOf(this.env);
    if (interval === 0) return null;
    const at = await this.ctx.storage.getAlarm();
    if (at !== null) return at;
    const next = Date.now() + interval;
    await this.ctx.storage.setAlarm(next);
    return next;
  }

  override async alarm(): Promise<void> {
    try {
      await this.tick();
    } finally {
      const interval = intervalOf(this.env);
      if (interval > 0) await this.ctx.storage.setAlarm(Date.now() + interval);
    }
  }

  /** The settler's state for humans: lease, last tick, waiting records and open batches. */
  async status(): Promise<SettlerStatus> {
    const state = this.sql.exec("select * from state where id = 1").toArray()[0];
    const lastTick = state?.last_tick ? (JSON.parse(String(state.last_tick)) as TickResult) : null;
    const base = {
      lease: this.leaseRow(),
      lastNonce: state && state.last_nonce !== null ? Number(state.last_nonce) : null,
      lastTick,
      ticks: Number(state?.ticks ?? 0),
    };
    let config: SettleConfig;
    try {
      config = settleConfig(this.env);
    } catch (error) {
      return {
        ...base,
        settler: null,
        chainId: null,
        ledger: null,
        unbatched: 0,
        setAside: 0,
        open: [],
        error: shortMessage(error),
      };
    }
    const [unbatched, setAside, open] = await Promise.all([
      unbatchedCount(this.env.DB),
      setAsideCount(this.env.DB),
      openBatches(this.env.DB, scopeOf(config)),
    ]);
    return {
      ...base,
      settler: config.account.address,
      chainId: config.chainId,
      ledger: config.ledger,
      unbatched,
      setAside,
      open: open.map((b) => ({
        batchId: b.batchId,
        status: b.status,
        count: b.count,
        root: b.root,
        reason: b.reason,
        txHash: b.txHash,
        nonce: b.nonce,
        blockNumber: b.blockNumber,
        submissions: b.submissions,
      })),
      error: lastTick?.status === "ran" ? lastTick.error : null,
    };
  }

  private async run(token: string, result: Extract<TickResult, { status: "ran" }>) {
    const config = settleConfig(this.env);
    const chain = new SettlementChain(config);
    const scope = scopeOf(config);
    const d1 = this.env.DB;
    await chain.checkChainId();
    if (!this.audited) {
      await this.auditConfirmed(scope, chain);
      this.audited = true;
    }

    const step = async (batch: SettlementBatchRow): Promise<Step> => {
      this.checkLease(token);
      try {
        const outcome = await this.advance(batch, config, chain);
        const fresh = await batchByKey(d1, batch.id);
        const id = fresh?.batchId ?? batch.batchId;
        if (outcome === "submitted") result.submitted.push(id);
        if (outcome === "confirmed") result.confirmed.push(id);
        if (outcome === "waiting" && fresh?.reason) {
          result.waiting.push({ batchId: id, reason: fresh.reason });
        }
        return outcome;
      } catch (error) {
        if (error instanceof Dissolved) {
          result.dissolved.push(batch.batchId);
          return "dissolved";
        }
        if (error instanceof Blocked) {
          result.waiting.push({ batchId: batch.batchId, reason: error.message });
          return error instanceof Unsigned ? "unsigned" : "blocked";
        }
        // Keep the cause visible on the batch, then stop: the chain or D1 is failing.
        await updateBatch(d1, batch.id, { reason: shortMessage(error) }, Date.now()).catch(
          () => {},
        );
        throw error;
      }
    };

    // A batch blocked by the chain or the lease stops the pending ones after it (submitted ones
    // are still followed up); an unsigned batch stops nothing but itself, up to a bound.
    let blocked = false;
    let unsigned = 0;
    const took = (outcome: Step) => {
      if (outcome === "blocked") blocked = true;
      if (outcome === "unsigned") unsigned++;
    };
    for (const batch of await openBatches(d1, scope)) {
      if (blocked && batch.status === "pending") continue;
      took(await step(batch));
    }
    // A record whose verdicts no longer make a quorum of registered verifiers would make every
    // co-signer refuse its batch: it is set aside instead, and checked again each tick.
    const holds = this.quorumCheck(chain);
    const back: string[] = [];
    const now = Date.now();
    for (const record of await setAsideRecordsToRecheck(d1, RECHECK_PER_TICK)) {
      const refusedLately =
        record.reason?.startsWith(REFUSED_BY_COSIGNERS) &&
        now - (record.setAsideAt ?? now) < COSIGNER_REFUSAL_RETRY_MS;
      if (!refusedLately && (await holds(record.roundOutcome)).ok) back.push(record.inferenceId);
    }
    await restoreRecords(d1, back);
    result.restored.push(...back);
    for (
      let built = 0;
      !blocked && unsigned < MAX_UNSIGNED_BATCHES && built < MAX_NEW_BATCHES_PER_TICK;
      built++
    ) {
      this.checkLease(token);
      const candidates = await unbatchedRecords(d1, config.batchSize);
      if (candidates.length === 0) break;
      const records: typeof candidates = [];
      for (const record of candidates) {
        const quorum = await holds(record.roundOutcome);
        if (quorum.ok) {
          records.push(record);
          continue;
        }
        await setAsideRecords(d1, [record.inferenceId], quorum.message, Date.now());
        result.setAside.push(record.inferenceId);
        console.warn(`record ${record.inferenceId} set aside: ${quorum.message}`);
      }
      if (records.length === 0) continue;
      const tree = buildBatchTree(records.map((r) => r.leafHash));
      const batchId = await nextBatchId(d1, scope);
      const batch = await createSettlementBatch(d1, scope, batchId, records, tree, Date.now());
      result.built.push(batch.batchId);
      took(await step(batch));
    }
  }

  /**
   * Once per instance, so after every restart: checks that the ledger still holds each batch
   * confirmed in the last AUDIT_WINDOW_MS, and reopens any it does not. A local chain that was
   * killed loses what it had not yet written to disk, and a reorg deeper than CONFIRMATIONS
   * would do the same; a reopened batch is followed up like a dropped transaction and settled
   * again, with the same records and root.
   */
  private async auditConfirmed(scope: LedgerScope, chain: SettlementChain) {
    const d1 = this.env.DB;
    const since = Date.now() - AUDIT_WINDOW_MS;
    for (const batch of await recentlyConfirmedBatches(d1, scope, since, AUDIT_MAX_BATCHES)) {
      const onChain = await chain.ledgerBatch(batch.batchId);
      if (onChain.root === batch.root) continue;
      const why = `the chain no longer holds batch ${batch.batchId}, confirmed in block ${batch.blockNumber}: it was rolled back; settling it again`;
      console.warn(`batch ${batch.batchId}: ${why}`);
      await reopenBatch(d1, batch.id, why, Date.now());
    }
  }

  /** `outcomeQuorum` against the registry as it is now, each verifier read once per tick. */
  private quorumCheck(chain: SettlementChain) {
    // Read only when a record is checked: an idle tick costs no registry read.
    let threshold: Promise<number> | undefined;
    const registered = new Map<string, Promise<boolean>>();
    const isRegistered = (verifier: Address) => {
      const key = verifier.toLowerCase();
      let known = registered.get(key);
      if (!known) {
        known = chain.isVerifier(verifier);
        registered.set(key, known);
      }
      return known;
    };
    return async (outcome: RoundOutcome): Promise<OutcomeQuorum> => {
      threshold ??= chain.threshold();
      return outcomeQuorum(outcome, await threshold, isRegistered);
    };
  }

  /** Moves one open batch on as far as it can go this tick. */
  private async advance(
    batch: SettlementBatchRow,
    config: SettleConfig,
    chain: SettlementChain,
  ): Promise<Step> {
    if (batch.status === "submitted") {
      const followed = await this.followUp(batch, config, chain);
      if (followed !== "resubmit") return followed;
      const current = await batchByKey(this.env.DB, batch.id);
      if (!current) throw new Error(`batch ${batch.batchId} vanished`);
      return this.submit(current, config, chain);
    }
    return this.submit(batch, config, chain);
  }

  /**
   * Follows a submitted batch: confirmed once CONFIRMATIONS deep on the canonical chain; a
   * transaction the node no longer knows (dropped, or removed by a reorg) is checked against the
   * ledger before the batch is sent again.
   */
  private async followUp(
    batch: SettlementBatchRow,
    config: SettleConfig,
    chain: SettlementChain,
  ): Promise<Step | "resubmit"> {
    const d1 = this.env.DB;
    const txHash = batch.txHash as Hex;
    const receipt = await chain.receipt(txHash);
    if (receipt?.status === "success") {
      if (receipt.blockHash !== batch.blockHash) {
        await updateBatch(
          d1,
          batch.id,
          {
            blockNumber: receipt.blockNumber,
            blockHash: receipt.blockHash,
            reason: batch.blockHash
              ? `reorg: now in block ${receipt.blockNumber}, was ${batch.blockNumber}`
              : null,
          },
          Date.now(),
        );
      }
      const head = await chain.blockNumber();
      if (head - receipt.blockNumber + 1 < config.confirmations) return "waiting";
      // The receipt may come from a node mid-reorg: the block must be canonical at its height.
      if ((await chain.blockHash(receipt.blockNumber)) !== receipt.blockHash) return "waiting";
      crashPoint("mined-not-marked", this.ctx);
      await confirmBatch(d1, batch.id, receipt, Date.now());
      console.log(
        `batch ${batch.batchId} (${batch.count} records) confirmed in block ${receipt.blockNumber} by ${txHash}`,
      );
      return "confirmed";
    }
    if (receipt?.status === "reverted") {
      return this.reconcile(batch, chain, `transaction ${txHash} reverted`);
    }
    if (await chain.knowsTransaction(txHash)) {
      if (batch.blockNumber !== null) {
        await updateBatch(
          d1,
          batch.id,
          {
            blockNumber: null,
            blockHash: null,
            reason: `reorg: block ${batch.blockNumber} is gone; the transaction is pending again`,
          },
          Date.now(),
        );
      }
      return "waiting";
    }
    const reorged = batch.blockNumber !== null;
    if (!reorged && Date.now() - (batch.submittedAt ?? 0) < config.resubmitAfterMs) {
      return "waiting";
    }
    const why = reorged
      ? `reorg: block ${batch.blockNumber} (${batch.blockHash}) no longer holds ${txHash}`
      : `dropped: the node no longer knows ${txHash}`;
    console.warn(`batch ${batch.batchId}: ${why}`);
    return this.reconcile(batch, chain, why);
  }

  /**
   * What the ledger says about a batch whose transaction failed or vanished: settled with our
   * root (by another transaction: adopt it), taken by another root (renumber), or not settled
   * (send again).
   */
  private async reconcile(
    batch: SettlementBatchRow,
    chain: SettlementChain,
    why: string,
  ): Promise<Step | "resubmit"> {
    const d1 = this.env.DB;
    const onChain = await chain.ledgerBatch(batch.batchId);
    if (onChain.root === batch.root) return this.adopt(batch, chain, onChain.blockNumber);
    if (onChain.root !== ZERO_ROOT) {
      await this.renumber(batch, chain, `${why}; batch id ${batch.batchId} holds another root`);
      throw new Blocked(`batch id ${batch.batchId} was taken on the ledger; renumbered`);
    }
    await updateBatch(
      d1,
      batch.id,
      { reason: `${why}; sending again`, blockNumber: null, blockHash: null },
      Date.now(),
    );
    return "resubmit";
  }

  /** The ledger holds our root: record the transaction that put it there, then confirm it. */
  private async adopt(
    batch: SettlementBatchRow,
    chain: SettlementChain,
    blockNumber: number,
  ): Promise<Step> {
    const inclusion = await chain.settledBy(batch.batchId, batch.root as Hex, blockNumber);
    if (!inclusion) return "waiting";
    const ours = inclusion.txHash === batch.txHash;
    await updateBatch(
      this.env.DB,
      batch.id,
      {
        status: "submitted",
        txHash: inclusion.txHash,
        // Someone else's transaction holds none of our nonces.
        nonce: ours ? batch.nonce : null,
        blockNumber: inclusion.blockNumber,
        blockHash: inclusion.blockHash,
        reason: ours ? null : `settled by transaction ${inclusion.txHash}`,
      },
      Date.now(),
    );
    return "waiting";
  }

  /** Gives a batch the next free ledger id; its signatures were for the old one. */
  private async renumber(batch: SettlementBatchRow, chain: SettlementChain, why: string) {
    let candidate = await nextBatchId(this.env.DB, {
      chainId: batch.chainId,
      ledger: batch.ledger,
    });
    for (let probes = 0; await chain.isSettled(candidate); probes++) {
      if (probes >= MAX_ID_PROBES) throw new Blocked(`${why}; no free batch id found yet`);
      candidate++;
    }
    console.warn(`batch ${batch.batchId}: ${why}; renumbered to ${candidate}`);
    await updateBatch(
      this.env.DB,
      batch.id,
      {
        batchId: candidate,
        status: "pending",
        signatures: null,
        txHash: null,
        nonce: null,
        submittedAt: null,
        blockNumber: null,
        blockHash: null,
        reason: `${why}; renumbered to ${candidate}`,
      },
      Date.now(),
    );
  }

  /** Co-signs (unless signatures are already held) and sends `settleBatch`. */
  private async submit(
    batch: SettlementBatchRow,
    config: SettleConfig,
    chain: SettlementChain,
  ): Promise<Step> {
    const d1 = this.env.DB;
    let current = batch;
    for (let attempt = 0; attempt < 2; attempt++) {
      const signatures = current.signatures ?? (await this.cosign(current, config, chain));
      const call: SettleCall = {
        batchId: current.batchId,
        root: current.root as Hex,
        count: current.count,
        signatures: settlementSignatures(signatures),
      };
      const revert = await chain.simulateSettle(call);
      if (revert?.errorName === "BatchAlreadySettled") {
        const [, root] = revert.args as [bigint, Hex];
        if (root === current.root) {
          const onChain = await chain.ledgerBatch(current.batchId);
          return this.adopt(current, chain, onChain.blockNumber);
        }
        await this.renumber(current, chain, `batch id ${current.batchId} holds root ${root}`);
      } else if (revert && SIGNATURE_ERRORS.has(revert.errorName)) {
        // The registry changed since the verifiers signed: ask again.
        await updateBatch(
          d1,
          current.id,
          { signatures: null, reason: `the ledger refused the signatures: ${revert.errorName}` },
          Date.now(),
        );
      } else if (revert) {
        throw new Error(`settleBatch(${current.batchId}) would revert with ${revert.errorName}`);
      } else {
        return this.send(current, call, chain, config);
      }
      const reloaded = await batchByKey(d1, current.id);
      if (!reloaded) throw new Error(`batch ${current.batchId} vanished`);
      current = reloaded;
    }
    throw new Unsigned(current.reason ?? `batch ${current.batchId} could not be submitted`);
  }

  /** Collects co-signatures and stores them on the batch; too few leaves it pending, reason stored. */
  private async cosign(batch: SettlementBatchRow, config: SettleConfig, chain: SettlementChain) {
    const d1 = this.env.DB;
    const threshold = await chain.threshold();
    const quorum = Math.max(threshold, config.cosignQuorum ?? threshold);
    const settlementBatch: SettlementBatch = {
      batchId: BigInt(batch.batchId),
      root: batch.root as Hex,
      count: batch.count,
    };
    const outcomes = await batchOutcomes(d1, batch.id);
    if (outcomes.length !== batch.count) {
      throw new Error(
        `batch ${batch.batchId} has ${outcomes.length} of its ${batch.count} records`,
      );
    }
    const registered = new Map<Address, Promise<boolean>>();
    const domain = ledgerDomain(config.chainId, config.ledger);
    const batchJson = settlementBatchToJson(settlementBatch);
    const { signatures, refusals, refusedOutcomes } = await collectCosignatures({
      verifiers: await cosignCandidates(d1),
      request: { batch: batchJson, chainId: config.chainId, ledger: config.ledger, outcomes },
      // Verifiers co-sign only what the network's settler proposes.
      proposal: await signBatchProposal(batchJson, domain, config.account),
      batch: settlementBatch,
      domain,
      quorum,
      isRegistered: (signer) => {
        let known = registered.get(signer);
        if (!known) {
          known = chain.isVerifier(signer);
          registered.set(signer, known);
        }
        return known;
      },
    });
    // Nobody signed, and the verifiers named records they will not sign: take those out and let
    // the rest be batched again. Once anyone has signed, the batch stays (its signer has bound
    // these records to its root) and waits like any unsigned batch.
    if (signatures.length === 0 && refusedOutcomes.size > 0) {
      const refused = new Map<string, string>();
      for (const [index, why] of refusedOutcomes) {
        const id = outcomes[index]?.inferenceId;
        if (id) refused.set(id, `${REFUSED_BY_COSIGNERS}: ${why}`);
      }
      if (refused.size > 0) {
        console.warn(
          `batch ${batch.batchId} dissolved: co-signers refused ${[...refused.keys()].join(", ")}`,
        );
        await dissolveBatch(d1, batch.id, refused, Date.now());
        throw new Dissolved(`batch ${batch.batchId} dissolved`);
      }
    }
    if (signatures.length < quorum) {
      const reason = `too few co-signatures: ${signatures.length} of ${quorum}${refusals.length ? ` (${refusals.join("; ")})` : " (no active verifiers)"}`;
      console.warn(`batch ${batch.batchId} stays pending: ${reason}`);
      await updateBatch(d1, batch.id, { status: "pending", reason }, Date.now());
      throw new Unsigned(reason);
    }
    await updateBatch(d1, batch.id, { signatures, reason: null }, Date.now());
    return signatures;
  }

  /**
   * Signs with a chosen nonce, records the transaction in D1 (so a crash after this point
   * resumes by following it up), then sends it.
   */
  private async send(
    batch: SettlementBatchRow,
    call: SettleCall,
    chain: SettlementChain,
    config: SettleConfig,
  ): Promise<Step> {
    const d1 = this.env.DB;
    const open = await openBatches(d1, scopeOf(config));
    const held = new Map<number, number>();
    for (const other of open) {
      if (other.status === "submitted" && other.nonce !== null) held.set(other.nonce, other.id);
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      const { latest, pending } = await chain.nonces(config.account.address);
      const nonce = chooseNonce({
        batch: batch.id,
        previous: attempt === 0 ? batch.nonce : null,
        latest,
        pending,
        held,
      });
      const signed = await chain.signSettle(call, nonce);
      const now = Date.now();
      this.sql.exec(
        "insert or ignore into nonces (nonce, batch, tx_hash, signed_at) values (?, ?, ?, ?)",
        nonce,
        batch.id,
        signed.hash,
        now,
      );
      this.sql.exec(
        "update state set last_nonce = max(coalesce(last_nonce, -1), ?) where id = 1",
        nonce,
      );
      const changes: BatchChanges = {
        status: "submitted",
        txHash: signed.hash,
        nonce,
        submittedAt: now,
        submissions: batch.submissions + attempt + 1,
        blockNumber: null,
        blockHash: null,
      };
      await updateBatch(d1, batch.id, changes, now);
      if ((await chain.send(signed)) === "sent") {
        console.log(
          `batch ${batch.batchId} (${batch.count} records) sent as ${signed.hash}, nonce ${nonce}`,
        );
        crashPoint("sent-not-mined", this.ctx);
        return "submitted";
      }
      // Someone used the nonce between reading it and sending: take the next one.
      held.delete(nonce);
    }
    throw new Blocked(`batch ${batch.batchId}: its nonce kept being taken; trying next tick`);
  }

  private acquire(now: number): string | null {
    const token = crypto.randomUUID();
    // Another instance's lease is stale by construction: only one instance runs at a time.
    const rows = this.sql
      .exec(
        `insert into lease (id, holder, instance, acquired_at, expires_at) values (1, ?, ?, ?, ?)
         on conflict (id) do update set holder = excluded.holder, instance = excluded.instance,
           acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
         where lease.holder is null or lease.instance != excluded.instance
           or lease.expires_at < excluded.acquired_at
         returning holder`,
        token,
        this.instance,
        now,
        now + LEASE_MS,
      )
      .toArray();
    return rows.length > 0 ? token : null;
  }

  private checkLease(token: string) {
    const row = this.sql.exec("select holder from lease where id = 1").toArray()[0];
    if (row?.holder !== token) throw new Blocked("the lease expired during this tick");
  }

  private leaseRow(): { since: number; until: number } | null {
    const row = this.sql
      .exec("select * from lease where id = 1 and holder is not null")
      .toArray()[0];
    return row ? { since: Number(row.acquired_at), until: Number(row.expires_at) } : null;
  }
}

const scopeOf = (config: SettleConfig): LedgerScope => ({
  chainId: config.chainId,
  ledger: config.ledger,
  settler: config.account.address,
});

function intervalOf(env: SettleEnv): number {
  const interval = Number(env.SETTLE_INTERVAL_MS);
  return Number.isSafeInteger(interval) && interval > 0 ? interval : 0;
}
