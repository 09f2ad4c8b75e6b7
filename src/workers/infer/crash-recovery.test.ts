import { abortAllDurableObjects } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { createTestKey, gatewayFetch } from "../../../test/gateway";
import { startVerifierNetwork, storeChatInference } from "../../../test/verifier-network";
import { armCrashPoint, disarmCrashPoints } from "../../crash-point";
import { roundConfig } from "../../durable/round-config";
import { sweepPendingRounds, sweepUnqueuedOutcomes } from "./rounds";

let network: Awaited<ReturnType<typeof startVerifierNetwork>> | undefined;
afterEach(() => {
  disarmCrashPoints();
  network?.restore();
  network = undefined;
});

const status = async (id: string) =>
  (
    await env.DB.prepare("select status from inferences where id = ?")
      .bind(id)
      .first<{ status: string }>()
  )?.status;

async function roundDecided(id: string) {
  for (let i = 0; i < 200; i++) {
    const round = await env.VERIFICATION_ROUND.getByName(id).snapshotIfStarted();
    if (round && round.status !== "running") return round;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the round of ${id} was not decided`);
}

describe("a crash in the gateway or a round loses no record", () => {
  it("after the receipt and before the round starts: the cron's sweep starts the round, and the record is decided", async () => {
    network = await startVerifierNetwork(["", "", ""]);
    const { key } = await createTestKey();
    armCrashPoint("after-receipt");
    const res = await gatewayFetch("/v1/chat/completions", {
      method: "POST",
      key,
      json: {
        model: "verity-ngram-1",
        messages: [{ role: "user", content: "Tell me about the sea." }],
        max_tokens: 8,
      },
    });
    expect(res.status).toBe(200);
    await res.text();
    const id = res.headers.get("x-verity-inference-id") ?? "";
    expect(await status(id)).toBe("pending");
    await new Promise((r) => setTimeout(r, 50));
    expect(await env.VERIFICATION_ROUND.getByName(id).snapshotIfStarted()).toBeNull();

    await abortAllDurableObjects();
    expect(await sweepPendingRounds(env, Date.now() + 60_000)).toBeGreaterThanOrEqual(1);
    expect((await roundDecided(id)).status).toBe("verified");
    expect(await status(id)).toBe("verified");
  });

  it("decided and written but not queued: the round stays decided, and the sweep sends its outcome to the settler", async () => {
    network = await startVerifierNetwork(["", "", ""]);
    const { id } = await storeChatInference();
    const round = () => env.VERIFICATION_ROUND.getByName(id);
    armCrashPoint("decided-not-queued");
    // The round may decide while starting: then its caller sees the crash too.
    await round()
      .start(id)
      .catch((error: unknown) => expect(String(error)).toMatch(/crash point decided-not-queued/));
    for (let i = 0; i < 200 && (await status(id)) === "pending"; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await status(id)).toBe("verified");
    await abortAllDurableObjects();

    const decided = await roundDecided(id);
    expect(decided.status).toBe("verified");
    // The queue never got it: once it is overdue, the sweep for unqueued outcomes sends it.
    const { outcomeResendAfterMs } = roundConfig(env);
    expect(await sweepUnqueuedOutcomes(env, Date.now())).not.toContain(id);
    expect(await sweepUnqueuedOutcomes(env, Date.now() + outcomeResendAfterMs + 1)).toContain(id);
  });
});
