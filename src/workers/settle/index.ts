import { recentDeadLetters } from "../../db/settlement-dead-letters";
import { consumeOutcomes, DEAD_LETTER_QUEUE } from "./consume-outcomes";
import { recordDeadLetters } from "./record-dead-letters";
import { settlerAddress } from "./settle-config";

export { Settler } from "../../durable/settler";

/** The settler's Durable Object: one per signing key, named by its address. */
export const settlerStub = (env: SettleEnv) => env.SETTLER.getByName(settlerAddress(env));

async function wakeSettler(env: SettleEnv): Promise<void> {
  try {
    await settlerStub(env).arm();
  } catch (error) {
    console.error("could not arm the settler's alarm", error);
  }
}

export default {
  async queue(batch, env, ctx) {
    if (batch.queue === DEAD_LETTER_QUEUE) {
      await recordDeadLetters(batch, env.DB);
      return;
    }
    const summary = await consumeOutcomes(batch, env.DB);
    // With SETTLE_INTERVAL_MS set, new records wake the settler's alarm (crons do not fire
    // under `wrangler dev`). The messages are settled already; a failure here only logs.
    if (summary.stored > 0) ctx.waitUntil(wakeSettler(env));
  },

  async scheduled(_controller, env, ctx) {
    const stub = settlerStub(env);
    ctx.waitUntil(Promise.all([stub.tick(), stub.arm()]));
  },

  /** `GET /status`: the settler's lease, last tick, open batches (with reasons) and dead letters. */
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method !== "GET" || url.pathname !== "/status") {
      return Response.json(
        {
          error: {
            message: "Only GET /status is served here.",
            type: "invalid_request_error",
            param: null,
            code: "unknown_route",
          },
        },
        { status: 404 },
      );
    }
    const [settler, deadLetters] = await Promise.all([
      settlerStub(env).status(),
      recentDeadLetters(env.DB, 20),
    ]);
    return Response.json({ ...settler, deadLetters });
  },
} satisfies ExportedHandler<SettleEnv, unknown>;
