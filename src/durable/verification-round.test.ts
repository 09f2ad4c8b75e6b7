import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import {
  checkOutcomeDigests,
  checksDigest,
  Receipt,
  type RoundOutcome,
  rankVerifiers,
  receiptDigest,
  signVerdict,
  verdictDigest,
  verdictsDigest,
} from "@verity/protocol";
import { keccak256, toHex } from "viem";
import { privateKeyToAccount, sign } from "viem/accounts";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type FaultMode,
  startVerifierNetwork,
  storeChatInference,
} from "../../test/verifier-network";
import { type RoundSnapshot, VerificationRound } from "./verification-round";

const stubFor = (id: string) => env.VERIFICATION_ROUND.getByName(id);
let network: Awaited<ReturnType<typeof startVerifierNetwork>> | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  network?.restore();
  network = undefined;
});

/** Registers verifiers so that the committee of `id`, in rank order, gets `committeeModes`. */
async function networkFor(id: string, committeeModes: FaultMode[], spareModes: FaultMode[] = []) {
  const all = [...committeeModes, ...spareModes];
  const probe = await startVerifierNetwork(all.map(() => ""));
  probe.restore();
  const ranked = rankVerifiers(id, probe.verifiers);
  // Same keys (they are derived from the index), modes assigned by rank.
  const modes: FaultMode[] = all.map(() => "");
  ranked.forEach((v, rank) => {
    modes[v.index] = all[rank] ?? "";
  });
  network = await startVerifierNetwork(modes);
  return network;
}

/**
 * Captures what rounds send to the settlement queue. Queue bindings share one prototype, so
 * spying on it sees the round's own binding object.
 */
/**
 * The outcomes the round of `id` sends. Rounds of earlier tests (this file's, or another's in the
 * same runtime) may still decide in the background, under load, so their messages are left out.
 */
async function spyOnQueue(id: string) {
  const sent: unknown[] = [];
  const queuePrototype = Object.getPrototypeOf(env.VERIFIED_INFERENCES) as Queue;
  vi.spyOn(queuePrototype, "send").mockImplementation(async (message) => {
    if ((message as { inferenceId?: unknown }).inferenceId === id) sent.push(message);
    return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } } as QueueSendResponse;
  });
  return sent;
}

async function until(id: string, predicate: (s: RoundSnapshot) => boolean, timeoutMs = 5_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const snapshot = await stubFor(id).snapshotIfStarted();
    if (snapshot && predicate(snapshot)) return snapshot;
    if (Date.now() > end) throw new Error(`round ${id} stuck: ${JSON.stringify(snapshot)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Moves the round's deadline into the past and runs its alarm, as time passing would. */
async function passDeadline(id: string) {
  await runInDurableObject(stubFor(id), (_instance, state) => {
    state.storage.sql.exec("update round set deadline = ? where id = 1", Date.now() - 1);
  });
  return runDurableObjectAlarm(stubFor(id));
}

/**
 * A round whose committee is all silent, so every verdict is the test's to hand in: the first
 * member, its key, and the receipt digest a verdict must name.
 */
async function silentRound(id: string) {
  const net = await networkFor(id, ["silent", "silent", "silent"]);
  await spyOnQueue(id);
  void stubFor(id)
    .start(id)
    .catch(() => {});
  const round = await until(id, () => true);
  const member = round.committee[0];
  const memberKey = keccak256(
    toHex(`verity test verifier ${net.byAddress(member?.address ?? "")?.index}`),
  );
  const row = await env.DB.prepare("select receipt from inferences where id = ?")
    .bind(id)
    .first<{ receipt: string }>();
  const digest = receiptDigest(Receipt.parse(JSON.parse(row?.receipt ?? "{}")));
  return { member, memberKey, digest };
}

const dbStatus = async (id: string) =>
  (
    await env.DB.prepare("select status from inferences where id = ?")
      .bind(id)
      .first<{ status: string }>()
  )?.status;

describe("VerificationRound", () => {
  it("reaches a quorum of valid verdicts and marks the record verified", async () => {
    const { id } = await storeChatInference();
    await networkFor(id, ["", "", ""]);
    const sent = await spyOnQueue(id);
    await stubFor(id).start(id);
    const round = await until(id, (s) => s.status === "verified" && s.verdicts.length === 3);
    expect(round.committee).toHaveLength(3);
    expect(round.verdicts.every((v) => v.outcome === "valid")).toBe(true);
    expect(await dbStatus(id)).toBe("verified");
    expect(sent).toHaveLength(1);
  });

  it("outvotes an always-invalid verifier and records its dissent", async () => {
    const { id } = await storeChatInference();
    const net = await networkFor(id, ["always-invalid", "", ""]);
    await spyOnQueue(id);
    await stubFor(id).start(id);
    const round = await until(id, (s) => s.verdicts.length === 3);
    expect(round.status).toBe("verified");
    const dissenter = net.verifiers.find((v) => v.mode === "always-invalid");
    expect(round.verdicts.find((v) => v.verifier === dissenter?.address)?.outcome).toBe("invalid");
    await until(id, () => true);
    const rows = await env.DB.prepare(
      "select verifier, outcome, agreed from verdicts where inference_id = ?",
    )
      .bind(id)
      .all<{ verifier: string; outcome: string; agreed: number }>();
    expect(rows.results).toHaveLength(3);
    expect(rows.results.find((r) => r.verifier === dissenter?.address)).toMatchObject({
      outcome: "invalid",
      agreed: 0,
    });
  });

  it("refuses the verdict of a member that signs with the wrong key, and still decides", async () => {
    const { id } = await storeChatInference();
    await networkFor(id, ["wrong-key", "", ""]);
    await spyOnQueue(id);
    await stubFor(id).start(id);
    const round = await until(
      id,
      (s) => s.status === "verified" && (s.refused.signer_mismatch ?? 0) === 1,
    );
    expect(round.verdicts).toHaveLength(2);
  });

  it("replaces a silent verifier after the deadline", async () => {
    const { id } = await storeChatInference();
    const net = await networkFor(id, ["silent", "silent", ""], [""]);
    await spyOnQueue(id);
    const start = stubFor(id).start(id);
    await until(id, (s) => s.verdicts.length === 1);
    await passDeadline(id);
    const round = await until(id, (s) => s.status === "verified");
    expect(round.replacements).toBe(1);
    const spare = net.verifiers.find(
      (v) => !round.committee.slice(0, 3).some((m) => m.address === v.address),
    );
    expect(round.committee.slice(3).map((m) => m.address)).toEqual([spare?.address]);
    expect(round.verdicts.map((v) => v.verifier).sort()).toContain(spare?.address);
    void start.catch(() => {});
  });

  it("ends inconclusive when every verifier stays silent", async () => {
    const { id } = await storeChatInference();
    const net = await networkFor(id, ["silent", "silent", "silent"]);
    const sent = await spyOnQueue(id);
    void stubFor(id)
      .start(id)
      .catch(() => {});
    await until(id, () => true);
    await passDeadline(id);
    // No one is left to add: the silent members are asked once more (MAX_SILENCE_RETRIES is 1
    // here), and only their second silence ends the round.
    const round = await until(id, (s) => s.status === "inconclusive");
    expect(net.verifiers.map((v) => v.tasks)).toEqual([2, 2, 2]);
    expect(round.verdicts).toHaveLength(0);
    expect(await dbStatus(id)).toBe("inconclusive");
    expect(sent).toHaveLength(0);
  });

  it("at the deadline, asks again the verifiers that shed its task with a 503 rather than ending inconclusive, and decides by their verdicts", async () => {
    const { id } = await storeChatInference();
    const net = await networkFor(id, ["busy", "busy", ""]);
    const sent = await spyOnQueue(id);
    await stubFor(id).start(id);
    const first = await until(id, (s) => s.verdicts.length === 1);
    expect(first.status).toBe("running");
    // The load passes; no one is left to add at the deadline, so the busy members are asked again.
    for (const v of net.verifiers) if (v.mode === "busy") v.mode = "";
    const tasksBefore = net.verifiers.reduce((n, v) => n + v.tasks, 0);
    await passDeadline(id);
    const round = await until(id, (s) => s.status === "verified");
    expect(net.verifiers.reduce((n, v) => n + v.tasks, 0)).toBe(tasksBefore + 2);
    expect(round.verdicts.length).toBe(3);
    expect(await dbStatus(id)).toBe("verified");
    expect(sent).toHaveLength(1);
  });

  it("asks a member that shed its task again after its retry-after, and decides before the deadline", async () => {
    // 1,000 tokens give the round 2 s more than the 1.5 s of a small call: after the 1 s the busy
    // members ask to wait, more than half the task's time is left, so they are asked again.
    const { id } = await storeChatInference({ maxTokens: 1_000 });
    const net = await networkFor(id, ["busy", "busy", ""]);
    await spyOnQueue(id);
    await stubFor(id).start(id);
    const first = await until(id, (s) => s.verdicts.length === 1);
    // The load passes within the second the busy members asked for (retry-after: 1).
    for (const v of net.verifiers) if (v.mode === "busy") v.mode = "";
    const round = await until(id, (s) => s.status === "verified");
    expect(round.decidedAt).toBeLessThan(first.deadline);
    expect(round.verdicts.length).toBeGreaterThanOrEqual(2);
  });

  it("rejects a tampered response through re-execution", async () => {
    const { id } = await storeChatInference({
      tamper: (r) => ({ ...r, content: `${r.content} Buy now.` }),
    });
    await networkFor(id, ["", "", ""]);
    const sent = await spyOnQueue(id);
    await stubFor(id).start(id);
    const round = await until(id, (s) => s.status === "rejected");
    const checks = round.verdicts[0]?.verdict.checks ?? [];
    expect(checks.find((c) => c.check.startsWith("re-execution"))?.status).toBe("fail");
    expect(checks.find((c) => c.check.startsWith("receipt-integrity"))?.status).toBe("pass");
    expect(await dbStatus(id)).toBe("rejected");
    expect((sent[0] as RoundOutcome).outcome).toBe("rejected");
  });

  it("rejects an edited request through the integrity check", async () => {
    const { id, request } = await storeChatInference();
    const edited = {
      ...request,
      messages: [{ role: "user", content: "Something else entirely." }],
    };
    await env.DB.prepare("update inferences set request = ? where id = ?")
      .bind(JSON.stringify(edited), id)
      .run();
    await networkFor(id, ["", "", ""]);
    await spyOnQueue(id);
    await stubFor(id).start(id);
    const round = await until(id, (s) => s.status === "rejected");
    const integrity = round.verdicts[0]?.verdict.checks.find((c) =>
      c.check.startsWith("receipt-integrity"),
    );
    expect(integrity).toMatchObject({ status: "fail", reason: "request_hash_mismatch" });
  });

  it("refuses forged, duplicate, replayed and outsider verdicts, and counts them", async () => {
    const { id } = await storeChatInference();
    const other = await storeChatInference();
    const { member, memberKey, digest } = await silentRound(id);
    const otherRow = await env.DB.prepare("select receipt from inferences where id = ?")
      .bind(other.id)
      .first<{ receipt: string }>();
    const otherReceipt = Receipt.parse(JSON.parse(otherRow?.receipt ?? "{}"));
    const checks = [{ check: "receipt-integrity@1", status: "pass" as const, reason: "ok" }];
    // Made under the policy the member announced when it was picked.
    const policyHash = (member?.policyHash ?? "0x") as `0x${string}`;
    const verdictFor = (key: `0x${string}`, inferenceId: string, digest: `0x${string}`) => {
      const account = privateKeyToAccount(key);
      return signVerdict(
        {
          version: 1,
          inferenceId,
          receiptDigest: digest,
          outcome: "valid",
          checks,
          checksDigest: checksDigest(checks),
          policyHash,
          verifier: account.address,
        },
        account,
      );
    };
    const stub = stubFor(id);
    // Unsigned and malformed.
    expect(await stub.submitVerdict({ inferenceId: id })).toMatchObject({
      accepted: false,
      reason: "malformed",
    });
    // Forged: names a committee member, signed by someone else.
    const outsiderKey = keccak256(toHex("outsider"));
    const honest = await verdictFor(memberKey, id, digest);
    const { signature: _, ...unsigned } = honest;
    const forged = {
      ...unsigned,
      signature: await sign({ hash: verdictDigest(unsigned), privateKey: outsiderKey, to: "hex" }),
    };
    expect(await stub.submitVerdict(forged)).toMatchObject({
      accepted: false,
      reason: "signer_mismatch",
    });
    // Not a signature of any key (v must be 27 or 28): bad_signature.
    const v0 = `${honest.signature.slice(0, 130)}00`;
    expect(await stub.submitVerdict({ ...honest, signature: v0 })).toMatchObject({
      accepted: false,
      reason: "bad_signature",
    });
    // A member's checks edited after signing: the checks digest no longer matches, and the
    // round says so rather than blame the signature.
    expect(
      await stub.submitVerdict({
        ...honest,
        checks: honest.checks.map((c) => ({ ...c, reason: "edited" })),
      }),
    ).toMatchObject({ accepted: false, reason: "checks_digest_mismatch" });
    // Outside the committee, honestly signed.
    expect(await stub.submitVerdict(await verdictFor(outsiderKey, id, digest))).toMatchObject({
      accepted: false,
      reason: "not_in_committee",
    });
    // Replayed from another inference, by a real member.
    const replayed = await verdictFor(memberKey, other.id, receiptDigest(otherReceipt));
    expect(await stub.submitVerdict(replayed)).toMatchObject({
      accepted: false,
      reason: "wrong_inference",
    });
    // A real member's verdict counts once.
    const genuine = await verdictFor(memberKey, id, digest);
    expect(await stub.submitVerdict(genuine)).toMatchObject({ accepted: true });
    expect(await stub.submitVerdict(genuine)).toMatchObject({
      accepted: false,
      reason: "duplicate",
    });
    const after = await until(id, () => true);
    expect(after.refused).toEqual({
      malformed: 1,
      signer_mismatch: 1,
      bad_signature: 1,
      checks_digest_mismatch: 1,
      not_in_committee: 1,
      wrong_inference: 1,
      duplicate: 1,
    });
    expect(after.verdicts).toHaveLength(1);
  });

  it("refuses a member's verdict whose outcome its own checks do not give, or made under another policy than it announced", async () => {
    const { id } = await storeChatInference();
    const { member, memberKey, digest } = await silentRound(id);
    const account = privateKeyToAccount(memberKey);
    const passed = [{ check: "rules@1", status: "pass" as const, reason: "ok" }];
    const verdict = (outcome: "valid" | "invalid", policyHash: string) =>
      signVerdict(
        {
          version: 1,
          inferenceId: id,
          receiptDigest: digest,
          outcome,
          checks: passed,
          checksDigest: checksDigest(passed),
          policyHash: policyHash as `0x${string}`,
          verifier: account.address,
        },
        account,
      );
    const announced = member?.policyHash ?? "";
    expect(announced).toMatch(/^0x[0-9a-f]{64}$/);
    const stub = stubFor(id);
    // Every check passed, yet it says invalid: a dissent its own checks do not support.
    expect(await stub.submitVerdict(await verdict("invalid", announced))).toMatchObject({
      accepted: false,
      reason: "inconsistent_outcome",
    });
    expect(
      await stub.submitVerdict(await verdict("valid", keccak256(toHex("another policy")))),
    ).toMatchObject({ accepted: false, reason: "policy_mismatch" });
    expect(await stub.submitVerdict(await verdict("valid", announced))).toMatchObject({
      accepted: true,
    });
    const after = await until(id, () => true);
    expect(after.refused).toMatchObject({ inconsistent_outcome: 1, policy_mismatch: 1 });
    expect(after.verdicts).toHaveLength(1);
  });

  it("is unharmed by an alarm that fires twice, and never changes a decided round", async () => {
    const { id } = await storeChatInference();
    await networkFor(id, ["", "", ""]);
    const sent = await spyOnQueue(id);
    await stubFor(id).start(id);
    const decided = await until(id, (s) => s.status === "verified" && s.verdicts.length === 3);
    await runDurableObjectAlarm(stubFor(id));
    await runDurableObjectAlarm(stubFor(id));
    await stubFor(id).start(id);
    const after = await stubFor(id).snapshotIfStarted();
    expect(after?.status).toBe("verified");
    expect(after?.decidedAt).toBe(decided.decidedAt);
    expect(sent).toHaveLength(1);
  });

  it("resumes from storage alone after a restart mid-round", async () => {
    const { id } = await storeChatInference();
    await networkFor(id, ["silent", "silent", ""], ["", ""]);
    await spyOnQueue(id);
    void stubFor(id)
      .start(id)
      .catch(() => {});
    const started = await until(id, (s) => s.verdicts.length === 1);
    // A fresh instance over the same storage is what a restart or an eviction leaves: no
    // memory of the first one, only what it stored.
    const round = await runInDurableObject(stubFor(id), async (_instance, state) => {
      const restarted = new VerificationRound(state, env);
      expect(await restarted.snapshotIfStarted()).toMatchObject({
        status: "running",
        committee: started.committee,
        verdicts: started.verdicts,
      });
      state.storage.sql.exec("update round set deadline = ? where id = 1", Date.now() - 1);
      await restarted.alarm();
      // The restart lost the silent members' tasks: they are sent again before anyone is
      // replaced (they stay silent here), and only their next deadline brings replacements.
      expect(await restarted.snapshotIfStarted()).toMatchObject({
        status: "running",
        replacements: 0,
      });
      state.storage.sql.exec("update round set deadline = ? where id = 1", Date.now() - 1);
      await restarted.alarm();
      return restarted.snapshotIfStarted();
    });
    expect(round).toMatchObject({ status: "verified", replacements: 1 });
    expect(round?.committee).toHaveLength(5);
  });

  it("never turns inconclusive across a restart: the tasks a crash lost are sent again", async () => {
    const { id } = await storeChatInference();
    // No spare verifiers: replacing anyone is impossible, so only a retry can save the round.
    const net = await networkFor(id, ["silent", "silent", "silent"]);
    await spyOnQueue(id);
    void stubFor(id)
      .start(id)
      .catch(() => {});
    await until(id, (s) => s.committee.length === 3);
    const round = await runInDurableObject(stubFor(id), async (_instance, state) => {
      // The crash: a fresh instance, and the verifiers are back once the network is.
      const restarted = new VerificationRound(state, env);
      for (const v of net.verifiers) {
        v.mode = "";
        v.env = { ...v.env, FAULT_MODE: "" };
      }
      state.storage.sql.exec("update round set deadline = ? where id = 1", Date.now() - 1);
      await restarted.alarm();
      return restarted.snapshotIfStarted();
    });
    expect(round).toMatchObject({ status: "verified", replacements: 0 });
  });

  it("publishes a round of a receipt signed before protocol v2, decided by upgraded verifiers, as a version-2 outcome that settles", async () => {
    const { id } = await storeChatInference({ receiptVersion: 1 });
    await networkFor(id, ["", "", ""]);
    const sent = await spyOnQueue(id);
    await stubFor(id).start(id);
    const decided = await until(id, (s) => s.status === "verified");
    const message = sent[0] as RoundOutcome;
    // Never a version-1 outcome of version-2 verdicts: settlement would refuse it as a downgrade.
    expect(message).toMatchObject({ version: 2, receipt: { version: 1 }, strength: "unset" });
    expect(message.verdicts.every((v) => v.version === 2)).toBe(true);
    expect(checkOutcomeDigests(message)).toBeNull();
    expect(decided.strength).toEqual({ strength: "unset", strengthScore: 0 });
  });

  it("sends settlement everything it needs in one queue message", async () => {
    const { id } = await storeChatInference();
    await networkFor(id, ["", "", ""]);
    const sent = await spyOnQueue(id);
    await stubFor(id).start(id);
    await until(id, (s) => s.status === "verified");
    const message = sent[0] as RoundOutcome;
    const row = await env.DB.prepare("select receipt from inferences where id = ?")
      .bind(id)
      .first<{ receipt: string }>();
    const receipt = JSON.parse(row?.receipt ?? "{}");
    // Protocol v2: the round's strength rides along; every verdict is `unset` for now.
    expect(message).toMatchObject({
      version: 2,
      inferenceId: id,
      outcome: "verified",
      receipt: { ...receipt, version: 2 },
      quorum: 2,
      strength: "unset",
      strengthScore: 0,
    });
    expect(checkOutcomeDigests(message)).toBeNull();
    expect(message.receiptDigest).toBe(receiptDigest(receipt));
    expect(message.committee).toHaveLength(3);
    expect(message.verdicts.length).toBeGreaterThanOrEqual(2);
    expect(message.verdictsDigest).toBe(verdictsDigest(message.verdicts));
    const shown = await until(id, (s) => s.verdicts.length === 3);
    expect(shown.verdictsDigest).toBe(message.verdictsDigest);
    expect(shown.verdicts.filter((v) => v.counted).map((v) => v.verdict)).toEqual(
      expect.arrayContaining(message.verdicts),
    );
    expect(
      message.verdicts.every(
        (v) => v.inferenceId === id && v.receiptDigest === message.receiptDigest,
      ),
    ).toBe(true);
  });
});
