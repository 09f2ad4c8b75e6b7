import {
  abortAllDurableObjects,
  createExecutionContext,
  createScheduledController,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { LEAF_TYPES, type LeafTuple, type RoundOutcome } from "@verity/protocol";
import { type Address, encodeFunctionData, type Hex, keccak256, stringToHex } from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { verifierRegistryAbi } from "../../contracts/generated/VerifierRegistry";
import { verityLedgerAbi } from "../../contracts/generated/VerityLedger";
import { decidedRound as decidedRoundFixture } from "../../test/fixtures/decided-round";
import { verifierAccounts } from "../../test/settle/keys";
import {
  anvil,
  chain,
  createApiKey,
  decidedInferences,
  deliver,
  mine,
  nodeAccount,
  setAutomine,
  settledEvents,
  settleEnv,
  settler,
  settlerAccount,
  startCosigners,
  storeInference,
} from "../../test/settle/network";
import { armCrashPoint, disarmCrashPoints } from "../crash-point";
import type { SettlementBatchRow } from "../db/schema";
import { inferenceProof, settlementOf } from "../workers/infer/proof";
import worker from "../workers/settle/index";
import { REGISTRY_CACHE_MS } from "../workers/verify/read-verifier-registry";
import type { SettlerStatus, TickResult } from "./settler";

const LEDGER = settleEnv.LEDGER_ADDRESS as Address;
const CONFIRMATIONS = Number(settleEnv.CONFIRMATIONS);

type Ran = Extract<TickResult, { status: "ran" }>;
const tick = async (): Promise<Ran> => {
  const result = await settler().tick();
  if (result.status !== "ran") throw new Error(`the tick was ${result.status}`);
  return result;
};

interface BatchRow {
  id: number;
  batch_id: number;
  root: Hex;
  count: number;
  status: SettlementBatchRow["status"];
  reason: string | null;
  tx_hash: Hex | null;
  nonce: number | null;
  submissions: number;
  block_number: number | null;
  block_hash: Hex | null;
  confirmed_at: number | null;
}
const batchRow = (batchId: number) =>
  env.DB.prepare("select * from settlement_batches where ledger = ? and batch_id = ?")
    .bind(LEDGER, batchId)
    .first<BatchRow>();

/** Where each inference stands: its gateway status and the ledger batch id of its record. */
async function standing(outcomes: readonly RoundOutcome[]) {
  const { results } = await env.DB.prepare(
    `select i.id, i.status, b.batch_id, b.status as batch_status
     from inferences i join settlement_records r on r.inference_id = i.id
     left join settlement_batches b on b.id = r.batch
     where i.id in (select value from json_each(?))`,
  )
    .bind(JSON.stringify(outcomes.map((o) => o.inferenceId)))
    .all<{ id: string; status: string; batch_id: number | null; batch_status: string | null }>();
  return new Map(results.map((r) => [r.id, r]));
}

/** Ticks and mines until nothing is open or waiting; every test leaves the settler idle. */
async function settleAll(maxTicks = 8) {
  for (let i = 0; i < maxTicks; i++) {
    const result = await tick();
    const status = await settler().status();
    if (status.open.length === 0 && status.unbatched === 0) return result;
    if (result.error) throw new Error(`settling failed: ${result.error}`);
    await mine(CONFIRMATIONS);
  }
  throw new Error(
    `the settler did not become idle: ${JSON.stringify((await settler().status()).open)}`,
  );
}

const settledCount = async (batchId: number) =>
  (await settledEvents()).filter((e) => e.batchId === batchId).length;

let apiKeyId = "";
const everyRound: RoundOutcome[] = [];
let network: Awaited<ReturnType<typeof startCosigners>>;

beforeEach(async () => {
  apiKeyId ||= await createApiKey();
  network = await startCosigners();
});
afterEach(async () => {
  disarmCrashPoints();
  network.restore();
  await setAutomine(true);
});

/** Decided rounds with gateway records, delivered through the queue handler. */
async function queued(outcomes: RoundOutcome["outcome"][]) {
  const rounds = await decidedInferences(outcomes, apiKeyId);
  everyRound.push(...rounds);
  const delivery = await deliver(rounds);
  expect(delivery.explicitAcks).toHaveLength(rounds.length);
  return rounds;
}

describe("Settler", () => {
  it("settles a batch on anvil; its verified records become settled after CONFIRMATIONS blocks, with proofs that verify off- and on-chain", async () => {
    const rounds = await queued(["verified", "verified", "rejected"]);
    const built = await tick();
    expect(built.error).toBeNull();
    expect(built.built).toHaveLength(1);
    const batchId = built.built[0] as number;
    expect(built.submitted).toEqual([batchId]);
    const sent = await batchRow(batchId);
    expect(sent).toMatchObject({ status: "submitted", count: 3, submissions: 1 });
    expect(sent?.tx_hash).toMatch(/^0x[0-9a-f]{64}$/);

    // Mined at once (automine), but one block is one confirmation: not final yet.
    const waiting = await tick();
    expect(waiting.confirmed).toEqual([]);
    const included = await batchRow(batchId);
    expect(included?.block_number).not.toBeNull();
    expect([...(await standing(rounds)).values()].map((r) => r.status).sort()).toEqual([
      "rejected",
      "verified",
      "verified",
    ]);

    await mine(CONFIRMATIONS - 1);
    const confirmed = await tick();
    expect(confirmed.confirmed).toEqual([batchId]);
    const final = await batchRow(batchId);
    expect(final).toMatchObject({ status: "confirmed", tx_hash: sent?.tx_hash });
    const states = await standing(rounds);
    for (const round of rounds) {
      expect(states.get(round.inferenceId)).toMatchObject({
        // The leaf says "rejected" on-chain; the gateway status never hides it.
        status: round.outcome === "verified" ? "settled" : "rejected",
        batch_id: batchId,
        batch_status: "confirmed",
      });
    }
    const latency = (final?.confirmed_at ?? 0) - Math.max(...rounds.map((r) => r.decidedAt));
    console.log(`verified -> settled (${CONFIRMATIONS} confirmations, 3 ticks): ${latency} ms`);

    const onChain = await chain.readContract({
      address: LEDGER,
      abi: verityLedgerAbi,
      functionName: "batch",
      args: [BigInt(batchId)],
    });
    expect(onChain.root).toBe(final?.root);
    expect(onChain.count).toBe(3);

    for (const round of rounds) {
      const proof = await inferenceProof(env.DB, round.inferenceId, apiKeyId);
      expect(proof).toMatchObject({
        inferenceId: round.inferenceId,
        batchId: String(batchId),
        root: final?.root,
        contract: LEDGER,
        chainId: 31337,
        transactionHash: final?.tx_hash,
        blockNumber: final?.block_number,
        leaf: { types: LEAF_TYPES },
      });
      expect(
        StandardMerkleTree.verify(proof.root, LEAF_TYPES, proof.leaf.values, proof.proof),
      ).toBe(true);
      expect(
        await chain.readContract({
          address: LEDGER,
          abi: verityLedgerAbi,
          functionName: "isIncluded",
          args: [BigInt(proof.batchId), proof.proof, proof.leaf.hash],
        }),
      ).toBe(true);
      expect(await settlementOf(env, round.inferenceId)).toMatchObject({
        status: "confirmed",
        outcome: round.outcome,
        batchId: String(batchId),
        transactionHash: final?.tx_hash,
      });
    }
    await expect(
      inferenceProof(env.DB, rounds[0]?.inferenceId ?? "", "another-key"),
    ).rejects.toThrow(/No inference/);
  });

  it("runs one settlement when two ticks (or two crons) fire at once", async () => {
    const rounds = await queued(["verified", "verified"]);
    const [a, b] = await Promise.all([settler().tick(), settler().tick()]);
    expect([a.status, b.status].sort()).toEqual(["busy", "ran"]);
    const ran = (a.status === "ran" ? a : b) as Ran;
    expect(ran.built).toHaveLength(1);
    const batchId = ran.built[0] as number;

    // Two crons at once as well: still one tick at a time, and nothing sent twice.
    const contexts = [createExecutionContext(), createExecutionContext()];
    await Promise.all(
      contexts.map((ctx) => worker.scheduled(createScheduledController(), settleEnv, ctx)),
    );
    await Promise.all(contexts.map((ctx) => waitOnExecutionContext(ctx)));

    await settleAll();
    expect((await batchRow(batchId))?.submissions).toBe(1);
    expect(await settledCount(batchId)).toBe(1);
    const states = await standing(rounds);
    expect(new Set([...states.values()].map((s) => s.batch_id))).toEqual(new Set([batchId]));
  });

  it("keeps records while the RPC endpoint is down for several ticks, then catches up", async () => {
    network.state.rpcDown = true;
    const rounds = await queued(["verified", "verified", "rejected", "verified", "verified"]);
    for (let i = 0; i < 3; i++) {
      const result = await tick();
      expect(result.error).toMatch(/^rpc_unavailable/);
      expect(result.built).toEqual([]);
    }
    const down = await settler().status();
    expect(down.unbatched).toBe(rounds.length);
    expect(down.error).toMatch(/^rpc_unavailable/);

    network.state.rpcDown = false;
    const back = await tick();
    expect(back.error).toBeNull();
    // BATCH_SIZE is 4: the backlog is two batches.
    expect(back.built).toHaveLength(2);
    expect(back.submitted).toEqual(back.built);

    // Down again while they wait for confirmations: they stay submitted, nothing is resent.
    network.state.rpcDown = true;
    await mine(CONFIRMATIONS);
    expect((await tick()).error).toMatch(/^rpc_unavailable/);
    expect((await tick()).error).toMatch(/^rpc_unavailable/);
    network.state.rpcDown = false;
    const caughtUp = await tick();
    expect(caughtUp.confirmed.sort()).toEqual([...back.built].sort());
    for (const batchId of back.built) {
      expect((await batchRow(batchId))?.submissions).toBe(1);
      expect(await settledCount(batchId)).toBe(1);
    }
    const states = await standing(rounds);
    expect(rounds.every((r) => states.get(r.inferenceId)?.batch_status === "confirmed")).toBe(true);
  });

  it("re-sends a dropped transaction with the same nonce, and the batch settles once", async () => {
    await queued(["verified", "verified"]);
    await setAutomine(false);
    const first = await tick();
    const batchId = first.built[0] as number;
    expect(first.submitted).toEqual([batchId]);
    const sent = await batchRow(batchId);
    expect(await chain.getTransaction({ hash: sent?.tx_hash as Hex })).toMatchObject({
      blockNumber: null,
    });

    await anvil("anvil_dropTransaction", [sent?.tx_hash]);
    const resent = await tick();
    expect(resent.submitted).toEqual([batchId]);
    const again = await batchRow(batchId);
    expect(again).toMatchObject({ status: "submitted", nonce: sent?.nonce, submissions: 2 });
    expect(await chain.getTransaction({ hash: again?.tx_hash as Hex })).toBeTruthy();

    await mine(CONFIRMATIONS);
    const confirmed = await tick();
    expect(confirmed.confirmed).toEqual([batchId]);
    expect(await settledCount(batchId)).toBe(1);
  });

  it("detects a reorg that removes the settling block and settles the batch again", async () => {
    await queued(["verified", "rejected", "verified"]);
    const first = await tick();
    const batchId = first.built[0] as number;
    await tick();
    const included = await batchRow(batchId);
    expect(included?.block_number).not.toBeNull();

    // Replace the settling block with an empty one: the transaction is gone from the chain.
    await anvil("anvil_reorg", [1, []]);
    expect(
      await chain.getBlock({ blockNumber: BigInt(included?.block_number ?? 0) }),
    ).not.toMatchObject({ hash: included?.block_hash });
    const resent = await tick();
    expect(resent.submitted).toEqual([batchId]);
    expect(await batchRow(batchId)).toMatchObject({ submissions: 2, nonce: included?.nonce });

    await mine(CONFIRMATIONS - 1);
    const confirmed = await tick();
    expect(confirmed.confirmed).toEqual([batchId]);
    const final = await batchRow(batchId);
    expect(final?.block_hash).not.toBe(included?.block_hash);
    const events = (await settledEvents()).filter((e) => e.batchId === batchId);
    expect(events).toHaveLength(1);
    expect(events[0]?.blockNumber).toBe(final?.block_number);
  });

  it("submits nothing with too few co-signatures, keeps the batch pending with its reason visible, and settles once they come", async () => {
    network.setMode(1, "down");
    network.setMode(2, "wrong-key");
    const nonceBefore = await chain.getTransactionCount({ address: settlerAccount.address });
    await queued(["verified", "verified"]);
    const first = await tick();
    const batchId = first.built[0] as number;
    expect(first.submitted).toEqual([]);
    expect(first.waiting).toEqual([
      { batchId, reason: expect.stringMatching(/^too few co-signatures: 1 of 2/) },
    ]);
    const pending = await batchRow(batchId);
    expect(pending).toMatchObject({ status: "pending", tx_hash: null, submissions: 0 });
    expect(pending?.reason).toContain("did not answer");
    expect(pending?.reason).toMatch(/names 0x[0-9a-fA-F]{40} but its signature is by/);

    // Retried next tick. Records arriving meanwhile go into a batch of their own (unsigned too,
    // with the same verifiers away); with MAX_UNSIGNED_BATCHES open, no more are built.
    const later = await queued(["verified"]);
    const second = await tick();
    expect(second.built).toEqual([batchId + 1]);
    expect(second.waiting.map((w) => w.batchId)).toEqual([batchId, batchId + 1]);
    const more = await queued(["verified"]);
    const third = await tick();
    expect(third.built).toEqual([]);
    expect(third.waiting.map((w) => w.batchId)).toEqual([batchId, batchId + 1]);
    expect(await chain.getTransactionCount({ address: settlerAccount.address })).toBe(nonceBefore);
    expect(
      await chain.readContract({
        address: LEDGER,
        abi: verityLedgerAbi,
        functionName: "isSettled",
        args: [BigInt(batchId)],
      }),
    ).toBe(false);

    const view = (await (
      await worker.fetch(new Request("http://settler.test/status"), settleEnv)
    ).json()) as SettlerStatus;
    expect(view.open).toEqual([
      expect.objectContaining({ batchId, status: "pending", reason: pending?.reason }),
      expect.objectContaining({ batchId: batchId + 1, status: "pending" }),
    ]);
    expect(view.unbatched).toBe(more.length);

    network.setMode(1, "");
    network.setMode(2, "");
    await settleAll();
    for (const id of [batchId, batchId + 1]) {
      expect(await settledCount(id)).toBe(1);
      expect((await batchRow(id))?.status).toBe("confirmed");
    }
    for (const record of (await standing([...later, ...more])).values()) {
      expect(record.batch_status).toBe("confirmed");
    }
  });

  it("a batch no verifier will co-sign for one of its records is dissolved: that record is set aside with the co-signers' reason, the others settle at once", async () => {
    // A record whose receipt is signed by a node no verifier trusts: every co-signer refuses
    // any batch it is in (unknown_node, naming it), whatever the rest of the batch holds.
    const untrusted = privateKeyToAccount(keccak256(stringToHex("a node no verifier trusts")));
    const refused = await decidedRoundFixture({
      node: untrusted,
      votes: verifierAccounts.map((account) => [account, "valid"]),
    });
    await storeInference(refused, apiKeyId);
    const good = await decidedInferences(["verified", "rejected"], apiKeyId);
    everyRound.push(...good);
    expect((await deliver([good[0], refused, good[1]])).explicitAcks).toHaveLength(3);

    const first = await tick();
    const [dissolved, rebuilt] = first.built as [number, number];
    expect(first.dissolved).toEqual([dissolved]);
    expect(first.submitted).toEqual([rebuilt]);
    expect(await batchRow(dissolved)).toMatchObject({ status: "dissolved", count: 3 });
    await mine(CONFIRMATIONS);
    expect((await tick()).confirmed).toEqual([rebuilt]);
    for (const record of (await standing(good)).values()) {
      expect(record).toMatchObject({ batch_id: rebuilt, batch_status: "confirmed" });
    }
    const aside = await settlementOf(env, refused.inferenceId);
    expect(aside).toMatchObject({ status: "unsettleable", batchId: null });
    expect(aside?.reason).toMatch(/^refused_by_cosigners: unknown_node/);
    expect((await settler().status()).setAside).toBe(1);
    // Not offered again at once: the next tick leaves it aside and builds nothing.
    const next = await tick();
    expect(next.restored).toEqual([]);
    expect(next.built).toEqual([]);

    // Leave the settler as the next test expects it: this record can never settle here.
    await env.DB.prepare("delete from settlement_records where inference_id = ?")
      .bind(refused.inferenceId)
      .run();
  });
});

describe("records that cannot be settled now", () => {
  /** Calls the registry as its owner, as a registry change on-chain would. */
  async function asRegistryOwner(functionName: "addVerifier" | "removeVerifier", who: Address) {
    const registry = settleEnv.REGISTRY_ADDRESS as Address;
    const owner = await chain.readContract({
      address: registry,
      abi: verifierRegistryAbi,
      functionName: "owner",
    });
    await anvil("anvil_impersonateAccount", [owner]);
    const hash = await anvil<Hex>("eth_sendTransaction", [
      {
        from: owner,
        to: registry,
        data: encodeFunctionData({ abi: verifierRegistryAbi, functionName, args: [who] }),
      },
    ]);
    await chain.waitForTransactionReceipt({ hash });
  }

  it("sets aside a record whose verdicts no longer make a registered quorum, shows why and how many, settles the rest, and settles it once the registry holds its verifiers again", async () => {
    const [held] = await decidedInferences(["verified"], apiKeyId);
    // Decided by a quorum of two, one of them a verifier the registry does not hold (removed).
    const gone = privateKeyToAccount(keccak256(stringToHex("a verifier since removed")));
    const stranded = await decidedRoundFixture({
      node: nodeAccount,
      outcome: "verified",
      votes: [
        [verifierAccounts[0] as PrivateKeyAccount, "valid"],
        [gone, "valid"],
      ],
    });
    await storeInference(stranded, apiKeyId);
    const rounds = [held as RoundOutcome, stranded];
    everyRound.push(...rounds);
    expect((await deliver(rounds)).explicitAcks).toHaveLength(2);

    const first = await tick();
    expect(first.setAside).toEqual([stranded.inferenceId]);
    expect(first.built).toHaveLength(1);
    const settlement = await settlementOf(env, stranded.inferenceId);
    expect(settlement).toMatchObject({ status: "unsettleable", batchId: null });
    expect(settlement?.reason).toMatch(/^quorum_lost: 1 of the 2 agreeing verdicts/);
    expect((await settler().status()).setAside).toBe(1);

    // The other record does not wait for it.
    await settleAll();
    expect((await standing([held as RoundOutcome])).get(held?.inferenceId ?? "")?.status).toBe(
      "settled",
    );
    expect((await settlementOf(env, stranded.inferenceId))?.status).toBe("unsettleable");

    await asRegistryOwner("addVerifier", gone.address);
    try {
      const again = await tick();
      expect(again.restored).toEqual([stranded.inferenceId]);
      expect(again.built).toHaveLength(1);
      // Co-signers reuse a registry read for REGISTRY_CACHE_MS: the batch waits that long.
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + REGISTRY_CACHE_MS + 1);
      await settleAll();
      const record = (await standing([stranded])).get(stranded.inferenceId);
      expect(record).toMatchObject({ status: "settled", batch_status: "confirmed" });
      expect(await settledCount(record?.batch_id ?? -1)).toBe(1);
      expect((await settler().status()).setAside).toBe(0);
    } finally {
      vi.useRealTimers();
      await asRegistryOwner("removeVerifier", gone.address);
    }
  });
});

describe("Settler recovery", () => {
  it("resumes after a crash between recording a transaction and sending it, with the same nonce", async () => {
    await queued(["verified", "rejected"]);
    network.state.failMethods.add("eth_sendRawTransaction");
    const first = await tick();
    expect(first.error).toMatch(/^rpc_unavailable: sending settleBatch/);
    const batchId = first.built[0] as number;
    const recorded = await batchRow(batchId);
    expect(recorded).toMatchObject({ status: "submitted", submissions: 1 });
    await expect(chain.getTransaction({ hash: recorded?.tx_hash as Hex })).rejects.toThrow();

    // The instance goes away with everything in memory; D1 and its storage are what is left.
    network.state.failMethods.clear();
    await abortAllDurableObjects();
    const resumed = await tick();
    expect(resumed.submitted).toEqual([batchId]);
    expect(await batchRow(batchId)).toMatchObject({ nonce: recorded?.nonce, submissions: 2 });
    await mine(CONFIRMATIONS);
    expect((await tick()).confirmed).toEqual([batchId]);
    expect(await settledCount(batchId)).toBe(1);
  });

  it("after a restart, settles again a confirmed batch that the chain lost, and its records are settled once", async () => {
    // anvil writes its state every few seconds: killed, it comes back without its last blocks.
    const before = await anvil("evm_snapshot", []);
    const rounds = await queued(["verified", "rejected"]);
    const batchId = (await tick()).built[0] as number;
    await mine(CONFIRMATIONS);
    expect((await tick()).confirmed).toEqual([batchId]);
    expect((await standing(rounds)).get(rounds[0]?.inferenceId ?? "")?.status).toBe("settled");

    expect(await anvil("evm_revert", [before])).toBe(true);
    expect(await settledCount(batchId)).toBe(0);
    // The instance that confirmed it trusts its memory until it restarts.
    await abortAllDurableObjects();
    const resent = await tick();
    expect(resent.submitted).toEqual([batchId]);
    const reopened = await batchRow(batchId);
    expect(reopened).toMatchObject({ status: "submitted", submissions: 2 });
    expect((await standing(rounds)).get(rounds[0]?.inferenceId ?? "")?.status).toBe("verified");

    await mine(CONFIRMATIONS);
    expect((await tick()).confirmed).toEqual([batchId]);
    expect(await settledCount(batchId)).toBe(1);
    const after = await standing(rounds);
    expect(rounds.map((r) => after.get(r.inferenceId)?.status)).toEqual(["settled", "rejected"]);
  });

  it("a crash after an outcome arrives from the queue and before it is stored: the message comes back, and the record settles once", async () => {
    const rounds = await decidedInferences(["verified"], apiKeyId);
    everyRound.push(...rounds);
    armCrashPoint("queued-not-stored");
    const crashed = await deliver(rounds);
    expect(crashed.explicitAcks).toHaveLength(0);
    expect(crashed.retryMessages).toHaveLength(1);
    expect((await standing(rounds)).size).toBe(0);

    await abortAllDurableObjects();
    expect((await deliver(rounds)).explicitAcks).toHaveLength(1);
    await settleAll();
    const record = (await standing(rounds)).get(rounds[0]?.inferenceId ?? "");
    expect(record).toMatchObject({ status: "settled", batch_status: "confirmed" });
    expect(await settledCount(record?.batch_id ?? -1)).toBe(1);
  });

  it("a crash after the transaction is sent and before it is seen mined: the restarted settler follows it and settles once", async () => {
    await queued(["verified", "rejected"]);
    armCrashPoint("sent-not-mined");
    await expect(tick()).rejects.toThrow(/crash point sent-not-mined/);
    const [open] = (await settler().status()).open;
    const batchId = open?.batchId as number;
    expect(await batchRow(batchId)).toMatchObject({ status: "submitted", submissions: 1 });

    await abortAllDurableObjects();
    await mine(CONFIRMATIONS);
    expect((await tick()).confirmed).toEqual([batchId]);
    expect(await batchRow(batchId)).toMatchObject({ status: "confirmed", submissions: 1 });
    expect(await settledCount(batchId)).toBe(1);
  });

  it("a crash after the transaction is mined and before the batch is marked: the restarted settler marks it, sending nothing again", async () => {
    await queued(["verified"]);
    const batchId = (await tick()).built[0] as number;
    await mine(CONFIRMATIONS);
    armCrashPoint("mined-not-marked");
    await expect(tick()).rejects.toThrow(/crash point mined-not-marked/);
    expect(await batchRow(batchId)).toMatchObject({ status: "submitted" });

    await abortAllDurableObjects();
    expect((await tick()).confirmed).toEqual([batchId]);
    expect(await batchRow(batchId)).toMatchObject({ status: "confirmed", submissions: 1 });
    expect(await settledCount(batchId)).toBe(1);
  });

  it("does not let the lease of a crashed instance block ticks", async () => {
    await runInDurableObject(settler(), (_instance, state) => {
      state.storage.sql.exec(
        "update lease set holder = 'crashed tick', instance = 'gone', expires_at = ? where id = 1",
        Date.now() + 600_000,
      );
    });
    expect((await settler().tick()).status).toBe("ran");
  });

  it("ticks from its alarm, which re-arms only when SETTLE_INTERVAL_MS asks for it", async () => {
    const before = (await settler().status()).ticks;
    await runInDurableObject(settler(), (_instance, state) =>
      state.storage.setAlarm(Date.now() + 60_000),
    );
    expect(await runDurableObjectAlarm(settler())).toBe(true);
    expect((await settler().status()).ticks).toBe(before + 1);
    // SETTLE_INTERVAL_MS is "0" in these tests: the cron alone drives the settler.
    expect(await settler().arm()).toBeNull();
    expect(await runDurableObjectAlarm(settler())).toBe(false);
  });
});

describe("the invariant across every scenario above", () => {
  afterAll(() => {
    expect(everyRound.length).toBeGreaterThan(0);
  });

  it("settles every decided record exactly once, on chain and in D1", async () => {
    const events = await settledEvents();
    const { results: all } = await env.DB.prepare(
      "select id, batch_id, root, count, status from settlement_batches where ledger = ?",
    )
      .bind(LEDGER)
      .all<{ id: number; batch_id: number; root: Hex; count: number; status: string }>();
    // A dissolved batch holds no record and never reached the chain.
    for (const gone of all.filter((b) => b.status === "dissolved")) {
      const held = await env.DB.prepare(
        "select count(*) as n from settlement_records where batch = ?",
      )
        .bind(gone.id)
        .first<{ n: number }>();
      expect(held?.n).toBe(0);
      expect(events.some((e) => e.batchId === gone.batch_id)).toBe(false);
    }
    const batches = all.filter((b) => b.status !== "dissolved");
    expect(batches.every((b) => b.status === "confirmed")).toBe(true);
    // Each on-chain batch is one of ours, with our root; each of ours is on chain once.
    expect(events.map((e) => e.batchId).sort((x, y) => x - y)).toEqual(
      batches.map((b) => b.batch_id).sort((x, y) => x - y),
    );

    const settledIn = new Map<string, number[]>();
    for (const batch of batches) {
      const event = events.find((e) => e.batchId === batch.batch_id);
      expect(event?.root).toBe(batch.root);
      const { results: leaves } = await env.DB.prepare(
        "select inference_id, leaf from settlement_records where batch = ?",
      )
        .bind(batch.id)
        .all<{ inference_id: string; leaf: string }>();
      // The root on chain is the tree of exactly these records.
      const tree = StandardMerkleTree.of(
        leaves.map((l) => JSON.parse(l.leaf) as LeafTuple),
        LEAF_TYPES,
      );
      expect(tree.root).toBe(event?.root);
      expect(leaves).toHaveLength(event?.count ?? -1);
      for (const leaf of leaves) {
        settledIn.set(leaf.inference_id, [
          ...(settledIn.get(leaf.inference_id) ?? []),
          batch.batch_id,
        ]);
      }
    }
    const states = await standing(everyRound);
    for (const round of everyRound) {
      expect(settledIn.get(round.inferenceId)).toHaveLength(1);
      expect(states.get(round.inferenceId)?.status).toBe(
        round.outcome === "verified" ? "settled" : "rejected",
      );
    }
    const status = await settler().status();
    expect(status.unbatched).toBe(0);
    expect(status.open).toEqual([]);
  });
});
