import { type SignedHeartbeat, signHeartbeat } from "@verity/protocol/heartbeat";
import { heartbeatConfig, verifierConfig } from "./verifier-config";
import { VERIFIER_VERSION } from "./verifier-version";

/** How long the coordinator has to acknowledge a heartbeat. */
export const HEARTBEAT_TIMEOUT_MS = 5_000;

export type HeartbeatResult =
  | { ok: true; status: number; signed: SignedHeartbeat }
  | { ok: false; error: string };

/**
 * Signs a heartbeat (this verifier's address, public URL, policy hash, re-executable models,
 * version, now) and POSTs `{ heartbeat, signature }` to `${COORDINATOR_URL}/v1/verifiers/heartbeat`.
 * Never throws: a misconfiguration, an unreachable coordinator or a refusal is logged and
 * returned, since the next heartbeat may fare better.
 */
export async function sendHeartbeat(env: VerifyEnv): Promise<HeartbeatResult> {
  try {
    const config = verifierConfig(env);
    const target = heartbeatConfig(env);
    const heartbeat = {
      verifier: config.account.address,
      url: target.publicUrl,
      policyHash: config.policyHash,
      models: config.reExecutable,
      version: VERIFIER_VERSION,
      timestamp: Date.now(),
    };
    // Heartbeats are always signed with the registered key, even in the wrong-key fault: the
    // faulty verifier must stay on committees for its forged verdicts to be seen and refused.
    const signed: SignedHeartbeat = await signHeartbeat(heartbeat, config.account);
    const response = await fetch(`${target.coordinatorUrl}/v1/verifiers/heartbeat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(signed),
      signal: AbortSignal.timeout(HEARTBEAT_TIMEOUT_MS),
    });
    if (!response.ok) {
      const error = `coordinator answered ${response.status}: ${(await response.text()).slice(0, 500)}`;
      console.warn(`heartbeat refused: ${error}`);
      return { ok: false, error };
    }
    await response.body?.cancel();
    return { ok: true, status: response.status, signed };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    console.warn(`heartbeat failed: ${error}`);
    return { ok: false, error };
  }
}
