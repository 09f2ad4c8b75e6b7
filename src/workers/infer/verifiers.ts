import { SignedHeartbeat, verifyHeartbeat } from "@verity/protocol";
import type { Context } from "hono";
import type { z } from "zod";
import { VerifierRegistry } from "../../db/verifier-registry";
import { roundConfig } from "../../durable/round-config";
import { refusal, VerityError } from "../../errors";
import { gatewayConfig } from "./gateway-config";
import type { GatewayEnv } from "./gateway-env";
import { parseJsonBody } from "./json-body";
import { chargeVerifier } from "./public-limits";
import { checkVerifierUrl } from "./verifier-url-policy";

const MAX_CLOCK_SKEW_MS = 60_000;

/**
 * Refused heartbeats by reason, since this isolate started. Counted in memory, not in D1: the
 * route is public, and a refusal must cost nothing durable.
 */
const refusedHeartbeats: Record<string, number> = {};

const refuse = (status: 400 | 401 | 403 | 409, reason: string, message: string) => {
  refusedHeartbeats[reason] = (refusedHeartbeats[reason] ?? 0) + 1;
  return refusal(status, reason, message);
};

/**
 * `POST /v1/verifiers/heartbeat`: a verifier announces it is alive, where it listens and which
 * policy it runs. Public: the EIP-712 signature is the credential, and only registered keys count.
 * Everything but the registration is checked before D1 is read, and only an accepted heartbeat
 * is written: one newer than the last taken (a replay changes nothing), announcing a URL the
 * coordinator's policy (`VERIFIER_URL_POLICY`) allows.
 */
export async function heartbeat(c: Context<GatewayEnv>): Promise<Response> {
  let signed: z.output<typeof SignedHeartbeat>;
  try {
    signed = await parseJsonBody(c, SignedHeartbeat);
  } catch (err) {
    if (err instanceof VerityError && err.status === 400) refuse(400, "malformed", err.message);
    throw err;
  }
  const { heartbeat: hb } = signed;
  const now = Date.now();
  if (Math.abs(now - hb.timestamp) > MAX_CLOCK_SKEW_MS) {
    throw refuse(
      400,
      "stale_heartbeat",
      "Heartbeat timestamp is more than 60 s from the coordinator's clock.",
    );
  }
  const checked = await verifyHeartbeat(signed);
  if (!checked.ok) {
    throw refuse(
      401,
      "bad_signature",
      `Heartbeat signature does not recover to the named verifier (${checked.reason}).`,
    );
  }
  const { signer } = checked;
  chargeVerifier(c, signer);
  const url = checkVerifierUrl(hb.url, gatewayConfig(c.env).verifierUrlPolicy);
  if (!url.ok) throw refuse(400, "disallowed_url", url.message);
  const registry = new VerifierRegistry(c.env.DB);
  if (!(await registry.isRegistered(signer))) {
    throw refuse(
      403,
      "unregistered_verifier",
      `Verifier ${signer} is not registered with this coordinator.`,
    );
  }
  if (!(await registry.recordHeartbeat({ address: signer, ...hb }, now))) {
    throw refuse(
      409,
      "replayed_heartbeat",
      `This heartbeat (timestamp ${hb.timestamp}) is not newer than the last one taken from ${signer}.`,
    );
  }
  return c.json({ ok: true, verifier: signer, receivedAt: now });
}

/** `GET /v1/verifiers`: the registry with liveness, votes and agreement. */
export async function listVerifiers(c: Context<GatewayEnv>): Promise<Response> {
  const { heartbeatTtlMs } = roundConfig(c.env);
  const data = await new VerifierRegistry(c.env.DB).list(Date.now(), heartbeatTtlMs);
  return c.json({ object: "list", data, refused: { heartbeats: { ...refusedHeartbeats } } });
}
