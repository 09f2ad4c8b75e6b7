import { DurableObject } from "cloudflare:workers";
import { sendHeartbeat } from "./send-heartbeat";
import { heartbeatIntervalMs } from "./verifier-config";

/** The one scheduler of a verifier deployment. */
export const HEARTBEAT_SCHEDULER_NAME = "heartbeat";

/**
 * Sends the verifier's heartbeat every `HEARTBEAT_INTERVAL_MS` from a Durable Object alarm.
 * The alarm re-arms itself before each heartbeat, so a failed heartbeat (or even a crash)
 * never stops the next one; the cron trigger and incoming requests call `ensureArmed`, which
 * only arms an alarm that is missing (say, on a fresh deployment).
 */
export class HeartbeatScheduler extends DurableObject<VerifyEnv> {
  /** Arms the alarm to fire now unless one is already set; returns when it fires. Idempotent. */
  async ensureArmed(): Promise<number> {
    const scheduled = await this.ctx.storage.getAlarm();
    if (scheduled !== null) return scheduled;
    const now = Date.now();
    await this.ctx.storage.setAlarm(now);
    return now;
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.setAlarm(Date.now() + heartbeatIntervalMs(this.env));
    await sendHeartbeat(this.env);
  }
}
