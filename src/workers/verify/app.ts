import { BATCH_PROPOSAL_HEADER, checkBatchProposal } from "@verity/protocol/batch-proposal";
import type { SettlementBatchJson } from "@verity/protocol/batch-sign-request";
import {
  checkTaskEnvelope,
  TASK_ENVELOPE_HEADER,
  type TaskEnvelope,
} from "@verity/protocol/task-envelope";
import { taskDigest, verifyTask } from "@verity/protocol/verification-task";
import { wait } from "@verity/protocol/wait";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { methodNotAllowed } from "hono/method-not-allowed";
import { notFound, refusal, VerityError } from "../../errors";
import { errorResponse } from "../../http/error-response";
import { MinuteCounter } from "../../http/minute-counter";
import { batchRefusal, isBatchRefusal } from "./batch-refusal";
import { coSignBatch } from "./co-sign-batch";
import { FairAdmission } from "./fair-admission";
import { judgeTask } from "./judge-task";
import { readBatchSignRequest } from "./read-batch-sign-request";
import { readSignedTask } from "./read-signed-task";
import { settlementConfig } from "./settlement-config";
import { SIGNING_LEDGER_NAME } from "./signing-ledger";
import { taskRefusal } from "./task-refusal";
import { verifierConfig } from "./verifier-config";
import { isTaskRefusal, VerifierCounters } from "./verifier-counters";
import { VERIFIER_VERSION } from "./verifier-version";

/** Hono's type parameters for the verifier. */
export interface VerifierHonoEnv {
  Bindings: VerifyEnv;
  Variables: {
    /** The batch the registered settler proposed, checked before the body is read. */
    proposal: SettlementBatchJson;
    /** The coordinator's envelope of a task, checked before the body is read. */
    envelope: TaskEnvelope;
    /** Gives back the task's slot early (a task held open by the silent fault holds none). */
    releaseSlot: () => void;
  };
}

/** The largest task accepted: a request, its answer (embeddings can be large) and a receipt. */
export const MAX_TASK_BYTES = 16 * 1024 * 1024;

/**
 * The largest batch signing request accepted: room for `MAX_BATCH_OUTCOMES` (1,000) outcomes,
 * each a receipt and a few verdicts with their checks (a few KiB).
 */
export const MAX_BATCH_BYTES = 32 * 1024 * 1024;

/**
 * Unauthenticated requests (no valid task envelope or batch proposal) refused per client IP per
 * minute; past it, that IP is answered 429 before any signature is checked. The coordinator and
 * the settler sign every request, so they are never counted.
 */
export const MAX_REFUSALS_PER_IP = 60;

/** Tasks judged at once per isolate; past this a task is answered 503 `overloaded`. */
export const MAX_CONCURRENT_TASKS = 8;
/** How long the `silent` fault holds a task open before giving up (the client is long gone). */
export const SILENT_HOLD_MS = 10 * 60 * 1000;

/**
 * The verifier's HTTP surface: `GET /v1/health`, `POST /v1/tasks` and `POST /v1/batches/sign`.
 * Each app counts its own refusals, verdicts and co-signed batches, so tests (and a
 * coordinator's tests) can run several in one isolate.
 */
export function createVerifierApp(
  options: { maxConcurrentTasks?: number; maxRefusalsPerIp?: number } = {},
) {
  const counters = new VerifierCounters();
  const refusalsByIp = new MinuteCounter(options.maxRefusalsPerIp ?? MAX_REFUSALS_PER_IP);
  const ipOf = (c: Context) => c.req.header("cf-connecting-ip") ?? "unknown";
  /** Refuses an IP that was refused too often this minute, before anything else is done. */
  const unlessRefusedTooOften = createMiddleware(async (c, next) => {
    const ip = ipOf(c);
    const allowed = refusalsByIp.check(ip);
    if (!allowed.allowed) {
      throw refusal(
        429,
        "rate_limit_exceeded",
        `IP ${ip} sent ${refusalsByIp.limit} unauthenticated requests this minute. Retry in ${allowed.retryAfterSeconds}s.`,
        { headers: { "retry-after": String(allowed.retryAfterSeconds) } },
      );
    }
    await next();
  });
  const maxConcurrentTasks = options.maxConcurrentTasks ?? MAX_CONCURRENT_TASKS;
  const admission = new FairAdmission(maxConcurrentTasks);
  const app = new Hono<VerifierHonoEnv>();
  app.onError((err, c) => {
    if (c.req.path === "/v1/tasks" && err instanceof VerityError && isTaskRefusal(err.code)) {
      counters.refuse(err.code);
    }
    if (
      c.req.path === "/v1/batches/sign" &&
      err instanceof VerityError &&
      isBatchRefusal(err.code)
    ) {
      counters.refuseBatch(err.code);
    }
    return errorResponse(err);
  });
  app.notFound((c) => {
    throw notFound(`Unknown route: ${c.req.method} ${c.req.path}`, "unknown_route");
  });
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (_c, allowed) => {
        throw new VerityError(`Method not allowed. Use ${allowed.join(", ")}.`, {
          status: 405,
          type: "invalid_request_error",
          code: "method_not_allowed",
          headers: { allow: allowed.join(", ") },
        });
      },
    }),
  );

  app.get("/v1/health", (c) => {
    const config = verifierConfig(c.env);
    return c.json({
      address: config.account.address,
      version: VERIFIER_VERSION,
      policyHash: config.policyHash,
      models: config.reExecutable,
      coordinator: config.coordinator,
      faultMode: config.faultMode || null,
      policy: config.policy,
      ...counters.snapshot(),
    });
  });

  app.post(
    "/v1/tasks",
    unlessRefusedTooOften,
    // Who sends comes first: a task without the coordinator's envelope costs one signature
    // recovery, and its body is never read.
    async (c, next) => {
      const config = verifierConfig(c.env);
      const checked = await checkTaskEnvelope(c.req.header(TASK_ENVELOPE_HEADER), {
        coordinator: config.coordinator,
        self: config.account.address,
        now: Date.now(),
        maxAgeMs: config.taskMaxAgeMs,
      });
      if (!checked.ok) {
        refusalsByIp.take(ipOf(c));
        throw taskRefusal(checked.reason, checked.message);
      }
      c.set("envelope", checked.envelope);
      // Shed load before reading anything more: the coordinator asks again after retry-after,
      // and a busy verifier is never counted as a verdict. Capacity is shared fairly between
      // lanes (API keys), so one key's burst cannot take every slot.
      const slot = admission.admit(checked.envelope.lane);
      if (!slot.ok) {
        throw taskRefusal(
          "overloaded",
          `This verifier is judging ${admission.judging} of its ${maxConcurrentTasks} tasks, and this key's share is ${slot.share}; send this one again shortly.`,
        );
      }
      c.set("releaseSlot", slot.release);
      try {
        await next();
      } finally {
        slot.release();
      }
    },
    bodyLimit({
      maxSize: MAX_TASK_BYTES,
      onError: () => {
        throw taskRefusal("too_large", `The task is larger than the ${MAX_TASK_BYTES} byte limit.`);
      },
    }),
    async (c) => {
      const config = verifierConfig(c.env);
      const signed = await readSignedTask(c, c.get("envelope"));
      const accepted = await verifyTask(signed, {
        coordinator: config.coordinator,
        self: config.account.address,
        now: Date.now(),
        maxAgeMs: config.taskMaxAgeMs,
      });
      if (!accepted.ok) throw taskRefusal(accepted.reason, accepted.message);
      if (config.faultMode === "silent") {
        c.get("releaseSlot")();
        // The client going away ends the hold.
        await wait(SILENT_HOLD_MS, c.req.raw.signal);
        throw new VerityError(
          "This verifier is in the silent fault mode and never answers tasks.",
          {
            status: 504,
            type: "service_unavailable",
            code: "silent_fault_mode",
          },
        );
      }
      // A task is judged once under a policy: the same task delivered again gets the verdict it
      // got, without re-executing anything, until it expires.
      const ledger = c.env.SIGNING_LEDGER.getByName(SIGNING_LEDGER_NAME);
      const digest = `${taskDigest(accepted.task)}:${config.policyHash}`;
      const now = Date.now();
      const given = await ledger.verdictFor(digest, now);
      if (given) return c.json(given);
      const verdict = await judgeTask(accepted.task, config);
      const expiresAt = accepted.task.issuedAt + config.taskMaxAgeMs;
      const standing = await ledger.recordVerdict(digest, verdict, expiresAt, now);
      if (standing.signature === verdict.signature) counters.verdicts[verdict.outcome]++;
      return c.json(standing);
    },
  );

  app.post(
    "/v1/batches/sign",
    unlessRefusedTooOften,
    // Who proposes comes first: a request the registered settler did not sign costs one
    // signature recovery, and its body is never read.
    async (c, next) => {
      const settlement = settlementConfig(c.env);
      const proposal = await checkBatchProposal(
        c.req.header(BATCH_PROPOSAL_HEADER),
        settlement.domain,
        settlement.settler,
      );
      if (!proposal.ok) {
        refusalsByIp.take(ipOf(c));
        throw batchRefusal(proposal.reason, proposal.message);
      }
      c.set("proposal", proposal.batch);
      await next();
    },
    bodyLimit({
      maxSize: MAX_BATCH_BYTES,
      onError: () => {
        throw batchRefusal(
          "too_large",
          `The request is larger than the ${MAX_BATCH_BYTES} byte limit.`,
        );
      },
    }),
    async (c) => {
      const config = verifierConfig(c.env);
      const settlement = settlementConfig(c.env);
      const request = await readBatchSignRequest(c);
      const proposed = c.get("proposal");
      const { batch } = request;
      if (
        batch.batchId !== proposed.batchId ||
        batch.root !== proposed.root ||
        batch.count !== proposed.count
      ) {
        throw batchRefusal(
          "proposal_mismatch",
          `The body's batch (${batch.batchId}, ${batch.root}, ${batch.count}) is not the one the settler proposed (${proposed.batchId}, ${proposed.root}, ${proposed.count}).`,
          "batch",
        );
      }
      if (config.faultMode === "silent") {
        // The client going away ends the hold.
        await wait(SILENT_HOLD_MS, c.req.raw.signal);
        throw new VerityError(
          "This verifier is in the silent fault mode and never answers co-signing requests.",
          { status: 504, type: "service_unavailable", code: "silent_fault_mode" },
        );
      }
      if (config.faultMode === "always-invalid") {
        throw batchRefusal(
          "fault_mode_refused",
          "This verifier is in the always-invalid fault mode and refuses to co-sign any batch.",
        );
      }
      const ledger = c.env.SIGNING_LEDGER.getByName(SIGNING_LEDGER_NAME);
      const signature = await coSignBatch(request, config, settlement, ledger);
      counters.batches.signed++;
      return c.json(signature);
    },
  );
  return app;
}
