import { env } from "cloudflare:workers";
import { leafHash } from "@verity/protocol/merkle-leaf";
import { leafFromOutcome } from "@verity/protocol/round-outcome";
import { afterEach, describe, expect, it, vi } from "vitest";
import { decidedRound, deliver } from "../../../test/settle/network";

afterEach(() => {
  vi.restoreAllMocks();
});

const storedRecord = (inferenceId: string) =>
  env.DB.prepare("select * from settlement_records where inference_id = ?")
    .bind(inferenceId)
    .first<{ outcome: string; leaf_hash: string; batch: number | null; round_outcome: string }>();

const recordCount = async (inferenceId: string) =>
  (
    await env.DB.prepare("select count(*) as n from settlement_records where inference_id = ?")
      .bind(inferenceId)
      .first<{ n: number }>()
  )?.n;

describe("the verified-inferences consumer", () => {
  it("stores each outcome once with its leaf, and acks a duplicate delivery without a second record", async () => {
    const verified = await decidedRound("verified");
    const rejected = await decidedRound("rejected");

    const first = await deliver([verified, rejected, verified]);
    expect(first.explicitAcks.sort()).toEqual([...first.ids].sort());
    expect(first.retryMessages).toEqual([]);

    // The queue delivers at least once: the same outcome again, in a later batch.
    const again = await deliver([verified], { attempts: 2 });
    expect(again.explicitAcks).toEqual(again.ids);
    expect(again.retryMessages).toEqual([]);

    expect(await recordCount(verified.inferenceId)).toBe(1);
    const stored = await storedRecord(verified.inferenceId);
    expect(stored).toMatchObject({
      outcome: "verified",
      batch: null,
      leaf_hash: leafHash(leafFromOutcome(verified)),
    });
    expect(JSON.parse(stored?.round_outcome ?? "null")).toEqual(verified);
    expect(await storedRecord(rejected.inferenceId)).toMatchObject({ outcome: "rejected" });
  });

  it("never acks a message that is not a settleable outcome: it is retried toward the dead-letter queue", async () => {
    const good = await decidedRound();
    const tampered = { ...(await decidedRound()), verdictsDigest: good.verdictsDigest };
    const result = await deliver([{ hello: "world" }, good, tampered, "not json at all"]);
    const [poison, valid, forged, text] = result.ids;
    expect(result.explicitAcks).toEqual([valid]);
    expect(result.retryMessages.map((m) => m.msgId).sort()).toEqual([poison, forged, text].sort());
    expect(result.ackAll).toBe(false);
    expect(await recordCount(tampered.inferenceId)).toBe(0);
  });

  it("retries valid messages when D1 fails, and stores them when it is back", async () => {
    const outcome = await decidedRound();
    const d1 = Object.getPrototypeOf(env.DB) as D1Database;
    vi.spyOn(d1, "batch").mockRejectedValueOnce(new Error("D1_ERROR: database unavailable"));
    const failed = await deliver([outcome]);
    expect(failed.explicitAcks).toEqual([]);
    expect(failed.retryMessages.map((m) => m.msgId)).toEqual(failed.ids);
    expect(await recordCount(outcome.inferenceId)).toBe(0);

    const retried = await deliver([outcome], { attempts: 2 });
    expect(retried.explicitAcks).toEqual(retried.ids);
    expect(await recordCount(outcome.inferenceId)).toBe(1);
  });

  it("sends a poison message through max_retries to the dead-letter queue, whose consumer records it in D1", async () => {
    const queue = (env as unknown as { TEST_OUTCOMES_QUEUE: Queue }).TEST_OUTCOMES_QUEUE;
    const poison = { version: 1, inferenceId: "not-a-uuid", outcome: "verified" };
    await queue.send(poison);
    let letter: { body: string; error: string; attempts: number; queue: string } | null = null;
    for (let waited = 0; !letter && waited < 15_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      letter = await env.DB.prepare(
        "select * from settlement_dead_letters where body like '%not-a-uuid%'",
      ).first();
    }
    expect(letter).not.toBeNull();
    expect(JSON.parse(letter?.body ?? "null")).toEqual(poison);
    expect(letter?.queue).toBe("verified-inferences-dlq");
    expect(letter?.error).toMatch(/^not a RoundOutcome/);
    // Delivered on the dead-letter queue after the first delivery and max_retries (2) retries.
    expect(letter?.attempts).toBe(1);
    const stored = await env.DB.prepare(
      "select count(*) as n from settlement_records where inference_id = 'not-a-uuid'",
    ).first<{ n: number }>();
    expect(stored?.n).toBe(0);
  });
});
