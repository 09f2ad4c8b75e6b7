import type { Context } from "hono";
import type { z } from "zod";
import { countRefusal, VerifierRegistry } from "../../db/verifier-registry";
import { roundConfig } from "../../durable/round-config";
import { VerityError } from "../../errors";
import { recoverHeartbeatSigner, SignedHeartbeat } from "../../protocol";
import type { GatewayEnv } from "./gateway-env";
import { parseJsonBody } from "./json-body";

const MAX_CLOCK_SKEW_MS = 60_000;

const refuse = async (
  c: Context<GatewayEnv>,
  status: 400 | 401 | 403,
  reason: string,
  message: string,
) => {
  await countRefusal(c.env.DB, "heartbeat", reason);
  return new VerityError(message, {
    status,
    type:
      status === 401
        ? "authentication_error"
        : status === 403
          ? "permission_error"
          : "invalid_request_error",
    code: reason,
  });
};

/**
 * `POST /v1/verifiers/heartbeat`: a verifier announces it is alive, where it listens and which
 * policy it runs. Public: the EIP-712 signature is the credential, and only registered keys count.
 */
export async function heartbeat(c: Context<GatewayEnv>): Promise<Response> {
  let signed: z.output<typeof SignedHeartbeat>;
  try {
    signed = await parseJsonBody(c, SignedHeartbeat);
  } catch (err) {
    if (err instanceof VerityError && err.status === 400)
      await countRefusal(c.env.DB, "heartbeat", "malformed");
    throw err;
  }
  const { heartbeat: hb } = signed;
  const now = Date.now();
  if (Math.abs(now - hb.timestamp) > MAX_CLOCK_SKEW_MS) {
    throw await refuse(
      c,
      400,
      "stale_heartbeat",
      "Heartbeat timestamp is more than 60 s from the coordinator's clock.",
    );
  }
  const signer = await recoverHeartbeatSigner(signed.heartbeat, signed.signature).catch(() => null);
  if (!signer || signer.toLowerCase() !== hb.verifier.toLowerCase()) {
    throw await refuse(
      c,
      401,
      "bad_signature",
      "Heartbeat signature does not recover to the named verifier.",
    );
  }
  const registry = new VerifierRegistry(c.env.DB);
  if (!(await registry.isRegistered(signer))) {
    throw await refuse(
      c,
      403,
      "unregistered_verifier",
      `Verifier ${signer} is not registered with this coordinator.`,
    );
  }
  await registry.recordHeartbeat({ address: signer, ...hb }, now);
  return c.json({ ok: true, verifier: signer, receivedAt: now });
}

/** `GET /v1/verifiers`: the registry with liveness, votes and agreement. */
export async function listVerifiers(c: Context<GatewayEnv>): Promise<Response> {
  const { heartbeatTtlMs } = roundConfig(c.env);
  const data = await new VerifierRegistry(c.env.DB).list(Date.now(), heartbeatTtlMs);
  return c.json({ object: "list", data });
}
