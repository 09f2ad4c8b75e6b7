import { DurableObject } from "cloudflare:workers";
import {
  InferenceId,
  NO_LANE,
  NormalizedRequest,
  Receipt,
  ResponseContent,
  type RoundOutcome,
  rankVerifiers,
  receiptDigest,
  roundStrength,
  type Strength,
  signTask,
  signTaskEnvelope,
  TASK_ENVELOPE_HEADER,
  TaskHistory,
  taskLane,
  type Verdict,
  type VerdictFailureReason,
  type VerificationTask,
  verdictOutcome,
  verdictsDigest,
  verifyVerdict,
} from "@verity/protocol";
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Address, Hex, LocalAccount } from "viem";
import { crashPoint } from "../crash-point";
import { inferences, verdicts as verdictsTable } from "../db/schema";
import { type VerifierEntry, VerifierRegistry } from "../db/verifier-registry";
import { gatewayConfig, gatewayMisconfigured } from "../workers/infer/gateway-config";
import { type RoundConfig, roundConfig } from "./round-config";
import { taskDeadlineMs } from "./task-deadline";

export type RoundStatus = "running" | "verified" | "rejected" | "inconclusive";
/** Why a round did not count a verdict: the protocol's own reasons first, then the round's. */
export type VerdictRefusal =
  | VerdictFailureReason
  | "not_in_committee"
  | "wrong_inference"
  | "inconsistent_outcome"
  | "policy_mismatch"
  | "duplicate";

export interface CommitteeMember extends VerifierEntry {
  /** 0 for the first committee, n for the n-th replacement. */
  attempt: number;
}

export interface RoundSnapshot {
  inferenceId: string;
  status: RoundStatus;
  quorum: number;
  committee: (CommitteeMember & { voted: boolean })[];
  replacements: number;
  deadline: number;
  startedAt: number;
  decidedAt: number | null;
  verdicts: {
    verifier: Address;
    outcome: Verdict["outcome"];
    signature: string;
    receivedAt: number;
    /** Whether the decision counted it (false for a vote that arrived after). */
    counted: boolean;
    verdict: Verdict;
  }[];
  /** What the settlement leaf commits to: the counted verdicts' digest, once decided. */
  verdictsDigest: string | null;
  /**
   * The decision's strength (`roundStrength` of the counted verdicts), once decided: it settles
   * in the version-2 leaf. Null while running, and for a version-1 outcome (a receipt and counted
   * verdicts all of version 1).
   */
  strength: Strength | null;
  refused: Partial<Record<VerdictRefusal, number>>;
}

export type SubmitResult =
  | { accepted: true; status: RoundStatus }
  | { accepted: false; reason: VerdictRefusal; status: RoundStatus | null };

interface Payload {
  request: NormalizedRequest;
  response: ResponseContent;
  usage: { prompt_tokens: number; completion_tokens: number };
  receipt: Receipt;
  /** `taskLane` of the record's API key; rounds stored before lanes have none. */
  lane?: Hex;
  /** The earlier record a request continues (`previous_response`), as stored (see `historyOf`). */
  history?: TaskHistory;
}

const PUBLISHED_D1 = 1;
const PUBLISHED_QUEUE = 2;
const RETRY_MS = 2_000;
/** How often a member that shed its task is asked again before the deadline (see `send`). */
const MAX_QUICK_RETRIES = 5;

/**
 * One verification round per inference, addressed by `idFromName(inferenceId)`. It picks a
 * committee from the registry, sends each member a signed task over HTTP, accepts verdicts only
 * from members, decides by quorum, replaces members that miss the deadline, and publishes the
 * outcome to D1, the settlement queue and any watchers.
 *
 * Everything it knows is in its SQLite storage, so eviction or a restart mid-round resumes from
 * there; every entry point (start, verdict, alarm) is safe to repeat, and a decided round never
 * changes.
 */
export class VerificationRound extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly config: RoundConfig;
  private readonly watchers = new Set<WritableStreamDefaultWriter<Uint8Array>>();
  /**
   * The members this instance sent a task to. A member without a vote that is not here had its
   * task in flight in an instance that is gone (a crash, a restart): it never had its chance.
   */
  private readonly sentHere = new Set<string>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.config = roundConfig(env);
    this.sql.exec(`
      create table if not exists round (
        id integer primary key check (id = 1),
        inference_id text not null,
        status text not null,
        payload text not null,
        committee text not null,
        tried text not null,
        replacements integer not null,
        deadline integer not null,
        started_at integer not null,
        decided_at integer,
        published integer not null default 0,
        refused text not null default '{}',
        retries integer not null default 0
      );
      create table if not exists votes (
        verifier text primary key,
        outcome text not null,
        verdict text not null,
        received_at integer not null
      );
    `);
    // Rounds stored before silence retries existed.
    const columns = this.sql.exec("select name from pragma_table_info('round')").toArray();
    if (!columns.some((c) => c.name === "retries")) {
      this.sql.exec("alter table round add column retries integer not null default 0");
    }
  }

  /** Starts the round for `inferenceId` from its stored record. Repeat calls return the round as it is. */
  async start(inferenceId: string): Promise<RoundSnapshot> {
    const id = InferenceId.parse(inferenceId);
    const existing = this.snapshotOrNull();
    if (existing) return existing;

    const [row] = await drizzle(this.env.DB)
      .select()
      .from(inferences)
      .where(eq(inferences.id, id))
      .limit(1);
    if (!row) throw new Error(`no stored inference ${id}`);
    const request = NormalizedRequest.parse(row.request);
    const history = await this.historyOf(request);
    const payload: Payload = {
      request,
      response: ResponseContent.parse(row.response),
      usage: taskUsage(row.usage),
      receipt: Receipt.parse(row.receipt),
      lane: taskLane(row.apiKeyId),
      ...(history ? { history } : {}),
    };
    const now = Date.now();
    const ranked = rankVerifiers(id, await this.registry().active(now, this.config.heartbeatTtlMs));
    const committee = ranked.slice(0, this.config.committeeSize).map((v) => ({ ...v, attempt: 0 }));
    // A concurrent start may have won while we awaited D1: storage writes are serialised, so check again.
    const raced = this.snapshotOrNull();
    if (raced) return raced;
    this.sql.exec(
      `insert into round (id, inference_id, status, payload, committee, tried, replacements, deadline, started_at)
       values (1, ?, 'running', ?, ?, ?, 0, ?, ?)`,
      id,
      JSON.stringify(payload),
      JSON.stringify(committee),
      JSON.stringify(committee.map((m) => m.address)),
      now + taskDeadlineMs(payload.request, this.config.deadlineMs),
      now,
    );
    await this.ctx.storage.setAlarm(now + taskDeadlineMs(payload.request, this.config.deadlineMs));
    // With fewer active verifiers than a quorum, the deadline brings in whoever is online then.
    await this.dispatch(committee);
    return this.snapshot();
  }

  /**
   * The earlier record a chat request continues, read from D1 as it is stored now, for the
   * verifiers to check (`history@1`). Undefined when the request continues nothing, and when
   * the earlier record is gone or no longer parses: the verifiers then fail the task with
   * `history_missing` rather than the round failing to start.
   */
  private async historyOf(request: NormalizedRequest): Promise<TaskHistory | undefined> {
    const previous = request.kind === "chat" ? request.previous_response : undefined;
    if (!previous) return undefined;
    const [row] = await drizzle(this.env.DB)
      .select({
        request: inferences.request,
        response: inferences.response,
        receipt: inferences.receipt,
      })
      .from(inferences)
      .where(eq(inferences.id, previous.inference_id))
      .limit(1);
    const parsed = TaskHistory.safeParse(row);
    return parsed.success ? parsed.data : undefined;
  }

  /** Takes a verdict from any source (a task answer, or a late POST) and counts it if it qualifies. */
  async submitVerdict(raw: unknown): Promise<SubmitResult> {
    const round = this.round();
    if (!round) return { accepted: false, reason: "wrong_inference", status: null };
    const refuse = (reason: VerdictRefusal): SubmitResult => {
      round.refused[reason] = (round.refused[reason] ?? 0) + 1;
      this.sql.exec("update round set refused = ? where id = 1", JSON.stringify(round.refused));
      return { accepted: false, reason, status: round.status };
    };
    const checked = await verifyVerdict(raw);
    if (!checked.ok) return refuse(checked.reason);
    const { verdict, signer } = checked;
    if (
      verdict.inferenceId !== round.inferenceId ||
      verdict.receiptDigest !== receiptDigest(round.payload.receipt)
    ) {
      return refuse("wrong_inference");
    }
    const member = round.committee.find((m) => m.address.toLowerCase() === signer.toLowerCase());
    if (!member) return refuse("not_in_committee");
    // A verdict counts only as what its own checks say, made under the policy its verifier
    // announced when it was picked (rounds picked before policies were recorded skip that).
    if (verdict.outcome !== verdictOutcome(verdict.checks)) return refuse("inconsistent_outcome");
    if (member.policyHash && verdict.policyHash !== member.policyHash) {
      return refuse("policy_mismatch");
    }
    const inserted = this.sql
      .exec(
        "insert into votes (verifier, outcome, verdict, received_at) values (?, ?, ?, ?) on conflict do nothing returning verifier",
        signer,
        verdict.outcome,
        JSON.stringify(verdict),
        Date.now(),
      )
      .toArray();
    if (inserted.length === 0) return refuse("duplicate");
    if (round.status === "running") {
      await this.evaluate();
    } else {
      // A late vote never changes a decided round, but it is kept (as agreement or dissent):
      // clearing the D1 flag makes publish write the new verdict row; the queue is not resent.
      this.sql.exec("update round set published = published & ~? where id = 1", PUBLISHED_D1);
      await this.publish();
    }
    return { accepted: true, status: this.round()?.status ?? "running" };
  }

  /** The round as stored, or null when it was never started. */
  async snapshotIfStarted(): Promise<RoundSnapshot | null> {
    return this.snapshotOrNull();
  }

  /**
   * Sends the decided outcome to the settlement queue again: for a record whose first message
   * never reached the settler (a local queue lives in memory, and a crash loses it). The
   * outcome is rebuilt from the same stored state, so it is the same message, and the settler
   * keeps one record per inference whatever the number of deliveries. False if there is
   * nothing to settle: no round, still running, or inconclusive.
   */
  async resendOutcome(): Promise<boolean> {
    const round = this.round();
    if (!round || round.status === "running" || round.status === "inconclusive") return false;
    await this.env.VERIFIED_INFERENCES.send(this.outcome(round));
    return true;
  }

  override async alarm(): Promise<void> {
    const round = this.round();
    if (!round) return;
    const now = Date.now();
    if (round.status !== "running") {
      await this.publish();
      return;
    }
    if (now < round.deadline) {
      await this.ctx.storage.setAlarm(round.deadline);
      return;
    }
    const votes = [...this.votes()];
    const voted = new Set(votes.map((v) => v.verifier.toLowerCase()));
    // A restart is not silence: the tasks it lost are sent again with a fresh deadline, so a
    // crash never makes a round inconclusive. Each instance does this at most once per member.
    const lost = round.committee.filter(
      (m) => !voted.has(m.address.toLowerCase()) && !this.sentHere.has(m.address.toLowerCase()),
    );
    if (lost.length > 0) {
      const deadline = now + taskDeadlineMs(round.payload.request, this.config.deadlineMs);
      this.sql.exec("update round set deadline = ? where id = 1 and status = 'running'", deadline);
      await this.ctx.storage.setAlarm(deadline);
      this.notify();
      await this.dispatch(lost);
      return;
    }
    const silent = round.committee.filter((m) => !voted.has(m.address.toLowerCase())).length;
    const agreeing = Math.max(
      ...(["valid", "invalid"] as const).map((o) => votes.filter((v) => v.outcome === o).length),
    );
    const needed = Math.max(silent, this.config.quorum - agreeing);
    if (await this.replace(needed, now)) return;
    if (silent > 0 && round.retries < this.config.maxSilenceRetries) {
      await this.askSilentAgain(round, voted, now);
      return;
    }
    await this.decide("inconclusive");
  }

  /**
   * Sends the silent members their task again, with twice the last wait (so the retries spread
   * over minutes): a verifier that was busy, or shed the task with a 429 or 503, gets another
   * chance before its silence counts.
   */
  private async askSilentAgain(round: StoredRound, voted: Set<string>, now: number) {
    const silent = round.committee.filter((m) => !voted.has(m.address.toLowerCase()));
    const wait =
      taskDeadlineMs(round.payload.request, this.config.deadlineMs) * 2 ** (round.retries + 1);
    this.sql.exec(
      "update round set retries = retries + 1, deadline = ? where id = 1 and status = 'running'",
      now + wait,
    );
    await this.ctx.storage.setAlarm(now + wait);
    this.notify();
    await this.dispatch(silent);
  }

  /** Server-Sent Events: the current state at once, then every change until the round is decided. */
  override async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname !== "/events")
      return new Response("not found", { status: 404 });
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const snapshot = this.snapshotOrNull();
    void writer.write(sseEvent(snapshot ?? { status: "pending" }));
    if (snapshot && snapshot.status !== "running") void writer.close();
    else {
      this.watchers.add(writer);
      writer.closed.finally(() => this.watchers.delete(writer)).catch(() => {});
    }
    return new Response(readable, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
    });
  }

  private async evaluate(): Promise<void> {
    const round = this.round();
    if (round?.status !== "running") return;
    const votes = [...this.votes()];
    const valid = votes.filter((v) => v.outcome === "valid").length;
    const invalid = votes.filter((v) => v.outcome === "invalid").length;
    if (valid >= this.config.quorum) return this.decide("verified");
    if (invalid >= this.config.quorum) return this.decide("rejected");
    this.notify();
    // If the members still to answer cannot make a quorum any more, bring in replacements now
    // rather than waiting for the deadline.
    const pending = round.committee.length - votes.length;
    if (pending + Math.max(valid, invalid) < this.config.quorum) {
      const needed = this.config.quorum - Math.max(valid, invalid) - pending;
      if (!(await this.replace(needed, Date.now()))) await this.decide("inconclusive");
    }
  }

  /** Adds the next `count` ranked candidates not tried yet; false when none may be added. */
  private async replace(count: number, now: number): Promise<boolean> {
    const round = this.round();
    if (!round || round.replacements >= this.config.maxReplacements) return false;
    const tried = new Set(round.tried.map((a) => a.toLowerCase()));
    const candidates = rankVerifiers(
      round.inferenceId,
      await this.registry().active(now, this.config.heartbeatTtlMs),
    ).filter((v) => !tried.has(v.address.toLowerCase()));
    const added = candidates
      .slice(0, count)
      .map((v) => ({ ...v, attempt: round.replacements + 1 }));
    if (added.length === 0) return false;
    const committee = [...round.committee, ...added];
    const deadline = now + taskDeadlineMs(round.payload.request, this.config.deadlineMs);
    this.sql.exec(
      "update round set committee = ?, tried = ?, replacements = replacements + 1, deadline = ? where id = 1 and status = 'running'",
      JSON.stringify(committee),
      JSON.stringify([...round.tried, ...added.map((m) => m.address)]),
      deadline,
    );
    await this.ctx.storage.setAlarm(deadline);
    this.notify();
    await this.dispatch(added);
    return true;
  }

  private async dispatch(members: readonly CommitteeMember[]): Promise<void> {
    await Promise.all(members.map((member) => this.send(member, 0)));
  }

  /**
   * Sends `member` its task. A verifier that sheds it (429/503 with `retry-after`) is asked again
   * after that wait, up to `MAX_QUICK_RETRIES` times before the deadline: its share of capacity
   * frees up in about a second, and waiting for the deadline would add seconds to every call
   * under load. The deadline's alarm stays the durable fallback.
   */
  private async send(
    member: CommitteeMember,
    attempt: number,
    signed?: { body: string; envelope: string },
  ): Promise<void> {
    const round = this.round();
    if (round?.status !== "running") return;
    const address = member.address.toLowerCase();
    if (attempt > 0 && [...this.votes()].some((v) => v.verifier.toLowerCase() === address)) return;
    this.sentHere.add(address);
    // A quick retry sends the same signed task: it is fresh for TASK_MAX_AGE_MS, and signing a
    // large task again costs as much as hashing it.
    const { body, envelope } = signed ?? (await this.signedTask(round, member));
    try {
      const res = await fetch(new URL("/v1/tasks", member.url), {
        method: "POST",
        headers: { "content-type": "application/json", [TASK_ENVELOPE_HEADER]: envelope },
        body,
        signal: AbortSignal.timeout(Math.max(1, round.deadline - Date.now())),
      });
      if (!res.ok) {
        const retryAfterMs = Number(res.headers.get("retry-after")) * 1000;
        const shed = (res.status === 503 || res.status === 429) && retryAfterMs > 0;
        const text = await res.text();
        // Only while at least half the task's time is left after the wait: a task sent too close
        // to the deadline times out, and the verifier's work on it is wasted.
        const workMs = taskDeadlineMs(round.payload.request, this.config.deadlineMs);
        const left = round.deadline - (Date.now() + retryAfterMs);
        if (shed && attempt < MAX_QUICK_RETRIES && left >= workMs / 2) {
          // Load shed on purpose: not worth a warning, and asked again shortly.
          const jitter = Math.random() * 250;
          setTimeout(
            () => void this.send(member, attempt + 1, { body, envelope }),
            retryAfterMs + jitter,
          );
          return;
        }
        if (!shed) {
          console.warn(
            `verifier ${member.address} refused task ${round.inferenceId}: ${res.status} ${text}`,
          );
        }
        return;
      }
      await this.submitVerdict(await res.json());
    } catch (err) {
      // A silent or unreachable verifier is handled by the deadline, not here.
      console.warn(
        `verifier ${member.address} did not answer task ${round.inferenceId}: ${String(err)}`,
      );
    }
  }

  /** The task for `member`, signed now, and its envelope. */
  private async signedTask(round: StoredRound, member: CommitteeMember) {
    const coordinator = coordinatorAccount(this.env);
    const { lane = NO_LANE, ...payload } = round.payload;
    const task: VerificationTask = {
      inferenceId: round.inferenceId,
      ...payload,
      verifier: member.address,
      issuedAt: Date.now(),
    };
    const body = JSON.stringify(await signTask(task, coordinator));
    const envelope = await signTaskEnvelope(body, member.address, task.issuedAt, coordinator, lane);
    return { body, envelope };
  }

  private async decide(status: Exclude<RoundStatus, "running">): Promise<void> {
    const changed = this.sql
      .exec(
        "update round set status = ?, decided_at = ? where id = 1 and status = 'running' returning id",
        status,
        Date.now(),
      )
      .toArray();
    if (changed.length === 0) return;
    await this.publish();
  }

  /** Writes the decision to D1 and the queue, once each; retried by the alarm until both succeed. */
  private async publish(): Promise<void> {
    const round = this.round();
    if (!round || round.status === "running") return;
    this.notify();
    try {
      if (!(round.published & PUBLISHED_D1)) {
        await this.writeToD1(round);
        this.markPublished(PUBLISHED_D1);
        crashPoint("decided-not-queued", this.ctx);
      }
      if (!(round.published & PUBLISHED_QUEUE)) {
        if (round.status !== "inconclusive")
          await this.env.VERIFIED_INFERENCES.send(this.outcome(round));
        this.markPublished(PUBLISHED_QUEUE);
      }
    } catch (err) {
      console.error(`publishing round ${round.inferenceId} failed; retrying`, err);
      await this.ctx.storage.setAlarm(Date.now() + RETRY_MS);
    }
  }

  private async writeToD1(round: StoredRound): Promise<void> {
    const db = drizzle(this.env.DB);
    const agreedWith =
      round.status === "verified" ? "valid" : round.status === "rejected" ? "invalid" : null;
    const votes = [...this.votes()];
    const now = Date.now();
    await db.batch([
      db
        .update(inferences)
        .set({ status: round.status as Exclude<RoundStatus, "running">, updatedAt: now })
        .where(and(eq(inferences.id, round.inferenceId), eq(inferences.status, "pending"))),
      ...votes.map((v) =>
        db
          .insert(verdictsTable)
          .values({
            inferenceId: round.inferenceId,
            verifier: v.verifier,
            outcome: v.outcome,
            agreed: v.outcome === agreedWith,
            verdict: v.verdict,
            receivedAt: v.receivedAt,
          })
          .onConflictDoNothing(),
      ),
    ]);
  }

  /** The verdicts the decision was made with; later ones are kept but never settle. */
  private countedVerdicts(round: StoredRound): Verdict[] {
    const decidedAt = round.decidedAt ?? Number.POSITIVE_INFINITY;
    return [...this.votes()].filter((v) => v.receivedAt <= decidedAt).map((v) => v.verdict);
  }

  private outcome(round: StoredRound): RoundOutcome {
    const verdicts = this.countedVerdicts(round);
    const outcome = round.status === "verified" ? "verified" : "rejected";
    const common = {
      inferenceId: round.inferenceId,
      outcome,
      receipt: round.payload.receipt,
      receiptDigest: receiptDigest(round.payload.receipt),
      quorum: this.config.quorum,
      committee: round.committee.map((m) => m.address),
      verdicts,
      verdictsDigest: verdictsDigest(verdicts),
      decidedAt: round.decidedAt ?? Date.now(),
    } as const;
    return outcomeVersion(round.payload.receipt, verdicts) === 1
      ? { version: 1, ...common }
      : { version: 2, ...common, ...roundStrength({ outcome, verdicts }) };
  }

  private markPublished(flag: number) {
    this.sql.exec("update round set published = published | ? where id = 1", flag);
  }

  private notify() {
    if (this.watchers.size === 0) return;
    const snapshot = this.snapshot();
    const event = sseEvent(snapshot);
    for (const writer of this.watchers) {
      writer.write(event).catch(() => this.watchers.delete(writer));
      if (snapshot.status !== "running") {
        writer.close().catch(() => {});
        this.watchers.delete(writer);
      }
    }
  }

  private registry() {
    return new VerifierRegistry(this.env.DB);
  }

  private round(): StoredRound | null {
    const row = this.sql.exec("select * from round where id = 1").toArray()[0];
    if (!row) return null;
    return {
      inferenceId: String(row.inference_id),
      status: row.status as RoundStatus,
      payload: JSON.parse(String(row.payload)) as Payload,
      committee: JSON.parse(String(row.committee)) as CommitteeMember[],
      tried: JSON.parse(String(row.tried)) as Address[],
      replacements: Number(row.replacements),
      deadline: Number(row.deadline),
      startedAt: Number(row.started_at),
      decidedAt: row.decided_at === null ? null : Number(row.decided_at),
      published: Number(row.published),
      refused: JSON.parse(String(row.refused)) as Partial<Record<VerdictRefusal, number>>,
      retries: Number(row.retries ?? 0),
    };
  }

  private *votes() {
    for (const row of this.sql.exec("select * from votes order by verifier")) {
      yield {
        verifier: row.verifier as Address,
        outcome: row.outcome as Verdict["outcome"],
        verdict: JSON.parse(String(row.verdict)) as Verdict,
        receivedAt: Number(row.received_at),
      };
    }
  }

  private snapshotOrNull(): RoundSnapshot | null {
    return this.round() ? this.snapshot() : null;
  }

  private snapshot(): RoundSnapshot {
    const round = this.round();
    if (!round) throw new Error("round not started");
    const votes = [...this.votes()];
    const voted = new Set(votes.map((v) => v.verifier.toLowerCase()));
    return {
      inferenceId: round.inferenceId,
      status: round.status,
      quorum: this.config.quorum,
      committee: round.committee.map((m) => ({ ...m, voted: voted.has(m.address.toLowerCase()) })),
      replacements: round.replacements,
      deadline: round.deadline,
      startedAt: round.startedAt,
      decidedAt: round.decidedAt,
      verdicts: votes.map((v) => ({
        verifier: v.verifier,
        outcome: v.outcome,
        signature: v.verdict.signature,
        receivedAt: v.receivedAt,
        counted: round.decidedAt === null || v.receivedAt <= round.decidedAt,
        verdict: v.verdict,
      })),
      verdictsDigest:
        round.status === "running" ? null : verdictsDigest(this.countedVerdicts(round)),
      strength:
        round.status === "running" ||
        outcomeVersion(round.payload.receipt, this.countedVerdicts(round)) === 1
          ? null
          : roundStrength({
              outcome: round.status === "verified" ? "verified" : "rejected",
              verdicts: this.countedVerdicts(round),
            }),
      refused: round.refused,
    };
  }
}

/**
 * The protocol version a round's outcome is published in: the newest of its receipt and counted
 * verdicts (an outcome may not be older than its messages). A round decided before protocol v2,
 * on a version-1 receipt by verifiers signing version 1, was published and is resent as version 1,
 * the same message every time; one decided after it by upgraded verifiers is version 2.
 */
const outcomeVersion = (receipt: Receipt, verdicts: readonly Verdict[]) =>
  Math.max(receipt.version, ...verdicts.map((v) => v.version));

interface StoredRound {
  inferenceId: string;
  status: RoundStatus;
  payload: Payload;
  committee: CommitteeMember[];
  tried: Address[];
  replacements: number;
  deadline: number;
  startedAt: number;
  decidedAt: number | null;
  published: number;
  refused: Partial<Record<VerdictRefusal, number>>;
  /** Times the silent members have been asked again (see askSilentAgain). */
  retries: number;
}

/** Verifiers check completion tokens against max_tokens; embeddings complete no tokens. */
function taskUsage(stored: unknown): Payload["usage"] {
  const usage = (stored ?? {}) as { prompt_tokens?: number; completion_tokens?: number };
  return {
    prompt_tokens: usage.prompt_tokens ?? 0,
    completion_tokens: usage.completion_tokens ?? 0,
  };
}

const encoder = new TextEncoder();
const sseEvent = (data: unknown) =>
  encoder.encode(`event: round\ndata: ${JSON.stringify(data)}\n\n`);

function coordinatorAccount(env: Env): LocalAccount {
  const account = gatewayConfig(env).coordinatorAccount;
  if (account) return account;
  throw gatewayMisconfigured(
    "COORDINATOR_KEY must be 0x followed by 64 hex digits.",
    "coordinator_key_missing",
  );
}
