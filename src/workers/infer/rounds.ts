import { InferenceId, verifyVerdict } from "@verity/protocol";
import { and, eq, inArray, isNull, lt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { crashPoint } from "../../crash-point";
import { inferences, settlementRecords } from "../../db/schema";
import { VerifierRegistry } from "../../db/verifier-registry";
import { roundConfig } from "../../durable/round-config";
import type { VerdictRefusal } from "../../durable/verification-round";
import { notFound, refusal } from "../../errors";
import type { GatewayEnv } from "./gateway-env";
import { chargeVerifier } from "./public-limits";

const roundOf = (env: Env, inferenceId: string) => env.VERIFICATION_ROUND.getByName(inferenceId);

/**
 * Starts the verification round of a stored inference. Failures are logged, not thrown: the
 * caller has already answered its client, and the cron sweep starts any round left behind.
 */
export async function startRound(env: Env, inferenceId: string): Promise<void> {
  try {
    crashPoint("after-receipt");
    await roundOf(env, inferenceId).start(inferenceId);
  } catch (err) {
    console.error(
      `could not start the verification round of ${inferenceId}; the sweep will retry`,
      err,
    );
  }
}

/** Starts rounds for records still pending well after their round should have ended. */
export async function sweepPendingRounds(env: Env, now = Date.now(), limit = 100): Promise<number> {
  const { deadlineMs, maxReplacements } = roundConfig(env);
  const olderThan = now - deadlineMs * (maxReplacements + 2);
  const rows = await drizzle(env.DB)
    .select({ id: inferences.id })
    .from(inferences)
    .where(and(eq(inferences.status, "pending"), lt(inferences.createdAt, olderThan)))
    .orderBy(inferences.createdAt)
    .limit(limit);
  await Promise.all(rows.map((r) => startRound(env, r.id)));
  return rows.length;
}

/**
 * Resends the outcomes of decided records that have not reached the settler `outcomeResendAfterMs`
 * after their decision: the sweep for a queue message a crash lost. Rejected records settle too,
 * so both are swept; inconclusive ones never settle. Returns the ids whose outcome was resent.
 */
export async function sweepUnqueuedOutcomes(
  env: Env,
  now = Date.now(),
  limit = 100,
): Promise<string[]> {
  const { outcomeResendAfterMs } = roundConfig(env);
  const rows = await drizzle(env.DB)
    .select({ id: inferences.id })
    .from(inferences)
    .leftJoin(settlementRecords, eq(settlementRecords.inferenceId, inferences.id))
    .where(
      and(
        inArray(inferences.status, ["verified", "rejected"]),
        isNull(settlementRecords.inferenceId),
        lt(inferences.updatedAt, now - outcomeResendAfterMs),
      ),
    )
    .orderBy(inferences.updatedAt)
    .limit(limit);
  const sent = await Promise.all(
    rows.map((r) =>
      roundOf(env, r.id)
        .resendOutcome()
        .catch((err) => {
          console.error(`could not resend the outcome of ${r.id}; the next sweep will`, err);
          return false;
        }),
    ),
  );
  return rows.filter((_, i) => sent[i]).map((r) => r.id);
}

/** The round of an inference the caller's key owns; 404 for anyone else's, as for records. */
async function ownedInferenceId(c: Context<GatewayEnv>): Promise<string> {
  const id = c.req.param("id") ?? "";
  const [row] = await drizzle(c.env.DB)
    .select({ id: inferences.id })
    .from(inferences)
    .where(and(eq(inferences.id, id), eq(inferences.apiKeyId, c.get("apiKey").id)))
    .limit(1);
  if (!row)
    throw notFound(`No inference with id '${id}' for this API key.`, "inference_not_found", "id");
  return row.id;
}

/** The round's state for `GET /v1/inferences/{id}`, or a pending placeholder before it starts. */
export async function roundSnapshot(env: Env, inferenceId: string) {
  return (
    (await roundOf(env, inferenceId).snapshotIfStarted()) ?? {
      status: "pending",
      committee: [],
      verdicts: [],
    }
  );
}

/** `GET /v1/inferences/{id}/events`: Server-Sent Events from pending to the decided outcome. */
export async function roundEvents(c: Context<GatewayEnv>): Promise<Response> {
  const id = await ownedInferenceId(c);
  return roundOf(c.env, id).fetch("https://round/events", { signal: c.req.raw.signal });
}

/** How each refused verdict is answered: bad input 400, bad credentials 401/403, conflicts 409. */
const VERDICT_REFUSAL_STATUS = {
  malformed: 400,
  checks_digest_mismatch: 400,
  bad_signature: 401,
  signer_mismatch: 401,
  not_in_committee: 403,
  wrong_inference: 409,
  inconsistent_outcome: 409,
  policy_mismatch: 409,
  duplicate: 409,
} as const satisfies Record<VerdictRefusal, number>;

/** The error a refused late verdict is answered with. */
const verdictRefusal = (reason: VerdictRefusal, message: string) =>
  refusal(VERDICT_REFUSAL_STATUS[reason], reason, `Verdict refused: ${message}`);

/**
 * `POST /v1/inferences/{id}/verdicts`: a verifier that answers after its task request was cut
 * off hands its verdict in here. Public, so everything that needs no round is checked first:
 * the verdict's shape and signature, that it is about this inference, that its signer is a
 * registered verifier and that the inference exists. Only then is the round's Durable Object
 * woken, so an anonymous request creates no durable state; the round itself accepts only its
 * committee members' verdicts.
 */
export async function submitVerdict(c: Context<GatewayEnv>): Promise<Response> {
  const id = InferenceId.safeParse(c.req.param("id"));
  if (!id.success)
    throw notFound(`No verification round for '${c.req.param("id")}'.`, "round_not_found", "id");
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    body = null;
  }
  const checked = await verifyVerdict(body);
  if (!checked.ok) throw verdictRefusal(checked.reason, checked.message);
  chargeVerifier(c, checked.signer);
  if (checked.verdict.inferenceId !== id.data) {
    throw verdictRefusal("wrong_inference", `the verdict is about ${checked.verdict.inferenceId}.`);
  }
  if (!(await new VerifierRegistry(c.env.DB).isRegistered(checked.signer))) {
    throw verdictRefusal("not_in_committee", `${checked.signer} is not a registered verifier.`);
  }
  const [stored] = await drizzle(c.env.DB)
    .select({ id: inferences.id })
    .from(inferences)
    .where(eq(inferences.id, id.data))
    .limit(1);
  if (!stored) throw notFound(`No verification round for '${id.data}'.`, "round_not_found", "id");

  const result = await roundOf(c.env, id.data).submitVerdict(checked.verdict);
  if (result.accepted) return c.json({ accepted: true, status: result.status }, 202);
  if (result.status === null)
    throw notFound(`No verification round for '${id.data}'.`, "round_not_found", "id");
  throw verdictRefusal(result.reason, `${result.reason}.`);
}
