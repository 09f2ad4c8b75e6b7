import { HEARTBEAT_SCHEDULER_NAME } from "./heartbeat-scheduler";

// A request does not need to reach the scheduler every time: once a minute per isolate is as
// often as the cron, and arming is idempotent anyway.
const RECHECK_MS = 60_000;
let lastEnsured = Number.NEGATIVE_INFINITY;

/** Makes sure the heartbeat alarm is armed. Never throws: a failure is logged and retried later. */
export async function ensureHeartbeat(
  env: VerifyEnv,
  options: { force?: boolean } = {},
): Promise<void> {
  const now = Date.now();
  if (!options.force && now - lastEnsured < RECHECK_MS) return;
  lastEnsured = now;
  try {
    await env.HEARTBEAT_SCHEDULER.getByName(HEARTBEAT_SCHEDULER_NAME).ensureArmed();
  } catch (error) {
    lastEnsured = Number.NEGATIVE_INFINITY;
    console.warn("could not arm the heartbeat alarm", error);
  }
}
