import { env } from "cloudflare:workers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { LEAF_TYPES, newInferenceId, type RoundOutcome } from "@verity/protocol";
import { Hono } from "hono";
import { keccak256, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { decidedRound } from "../../../test/fixtures/decided-round";
import { createTestKey } from "../../../test/gateway";
import type { ApiKey } from "../../db/schema";
import { confirmBatch, createSettlementBatch } from "../../db/settlement-batches";
import {
  settlementRecordOf,
  storeSettlementRecords,
  unbatchedRecords,
} from "../../db/settlement-records";
import { buildBatchTree } from "../../db/settlement-tree";
import { onError } from "../../http/error-response";
import type { GatewayEnv } from "./gateway-env";
import { getInferenceProof, type InferenceProof, settlementOf } from "./proof";

const node = privateKeyToAccount(env.INFERENCE_NODE_KEY as `0x${string}`);
const LEDGER = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

/** A decided round without verdicts: the proof path does not look at them. */
const decided = (outcome: RoundOutcome["outcome"]) => decidedRound({ node, outcome });

async function storeInference(round: RoundOutcome, apiKeyId: string) {
  await env.DB.prepare(
    `insert into inferences (id, api_key_id, kind, model, backend, request, response, usage, receipt,
       request_hash, response_hash, stream, status, created_at)
     values (?, ?, 'chat', ?, 'reference', '{}', '{}', '{}', ?, ?, ?, 0, ?, ?)`,
  )
    .bind(
      round.inferenceId,
      apiKeyId,
      round.receipt.model,
      JSON.stringify(round.receipt),
      round.receipt.requestHash,
      round.receipt.responseHash,
      round.outcome,
      round.receipt.createdAt,
    )
    .run();
}

/** The route as the gateway mounts it, behind a key that is already authenticated. */
const proofApp = (apiKey: Pick<ApiKey, "id">) => {
  const app = new Hono<GatewayEnv>();
  app.onError(onError);
  app.get("/v1/inferences/:id/proof", (c) => {
    c.set("apiKey", { ...apiKey } as ApiKey);
    return getInferenceProof(c);
  });
  return (id: string) => app.request(`/v1/inferences/${id}/proof`, {}, env);
};

describe("GET /v1/inferences/{id}/proof", () => {
  it("answers 404 not_settled until the batch is confirmed, then a proof that verifies against the root", async () => {
    const owner = await createTestKey();
    const rounds = await Promise.all([
      decided("verified"),
      decided("rejected"),
      decided("verified"),
    ]);
    for (const round of rounds) await storeInference(round, owner.id);
    const get = proofApp({ id: owner.id });
    const first = rounds[0] as RoundOutcome;

    const undecided = await get(first.inferenceId);
    expect(undecided.status).toBe(404);
    expect(await undecided.json()).toMatchObject({ error: { code: "not_settled" } });
    expect(await settlementOf(env, first.inferenceId)).toBeNull();

    await storeSettlementRecords(env.DB, rounds.map(settlementRecordOf), Date.now());
    expect(await settlementOf(env, first.inferenceId)).toMatchObject({
      status: "queued",
      batchId: null,
    });
    const records = (await unbatchedRecords(env.DB, 100)).filter((r) =>
      rounds.some((round) => round.inferenceId === r.inferenceId),
    );
    const tree = buildBatchTree(records.map((r) => r.leafHash));
    const scope = { chainId: 31337, ledger: LEDGER, settler: node.address };
    const batch = await createSettlementBatch(env.DB, scope, 41, records, tree, Date.now());

    const pending = await get(first.inferenceId);
    expect(pending.status).toBe(404);
    expect(await pending.json()).toMatchObject({
      error: { code: "not_settled", message: expect.stringContaining("batch 41 is pending") },
    });

    const inclusion = {
      txHash: keccak256(stringToHex("settling transaction")),
      blockNumber: 1234,
      blockHash: keccak256(stringToHex("block 1234")),
    };
    await confirmBatch(env.DB, batch.id, inclusion, Date.now());
    for (const round of rounds) {
      const res = await get(round.inferenceId);
      expect(res.status).toBe(200);
      const proof = (await res.json()) as InferenceProof;
      expect(proof).toMatchObject({
        inferenceId: round.inferenceId,
        batchId: "41",
        root: tree.root,
        contract: LEDGER,
        chainId: 31337,
        transactionHash: inclusion.txHash,
        blockNumber: 1234,
        leaf: { types: LEAF_TYPES },
      });
      expect(
        StandardMerkleTree.verify(proof.root, LEAF_TYPES, proof.leaf.values, proof.proof),
      ).toBe(true);
      expect(tree.nodes[proof.leafIndex]).toBe(proof.leaf.hash);
      expect(await settlementOf(env, round.inferenceId)).toMatchObject({
        status: "confirmed",
        outcome: round.outcome,
        batchId: "41",
        transactionHash: inclusion.txHash,
      });
    }
    const statuses = await env.DB.prepare("select id, status from inferences where id in (?, ?, ?)")
      .bind(...rounds.map((r) => r.inferenceId))
      .all<{ id: string; status: string }>();
    expect(Object.fromEntries(statuses.results.map((r) => [r.id, r.status]))).toEqual(
      Object.fromEntries(
        rounds.map((r) => [r.inferenceId, r.outcome === "verified" ? "settled" : "rejected"]),
      ),
    );
  });

  it("answers 404 inference_not_found for another key's record, as for an unknown id", async () => {
    const owner = await createTestKey();
    const other = await createTestKey();
    const round = await decided("verified");
    await storeInference(round, owner.id);
    for (const id of [round.inferenceId, newInferenceId()]) {
      const res = await proofApp({ id: other.id })(id);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({
        error: { code: "inference_not_found", param: "id" },
      });
    }
  });
});
