// Settlement on the chain of a real `npm start`: an answer from the official OpenAI client is
// verified, batched, co-signed, sent to the VerityLedger and confirmed, and its inclusion proof
// holds on-chain, against the Merkle tree library, and against the record it commits to.
import { setTimeout as sleep } from "node:timers/promises";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { LEAF_OUTCOME, LEAF_TYPES_V2, leafHash } from "@verity/protocol/merkle-leaf";
import { Receipt, receiptDigest } from "@verity/protocol/receipt";
import { verdictsDigest } from "@verity/protocol/round-outcome";
import { UNSET_STRENGTH } from "@verity/protocol/verification-strength";
import OpenAI from "openai";
import { createPublicClient, getAddress, type Hex, http } from "viem";
import { describe, expect, inject, it } from "vitest";
import { z } from "zod";
import { verityLedgerAbi } from "../../contracts/generated/VerityLedger.ts";

const network = inject("localNetwork");
const client = new OpenAI({ baseURL: `${network.gatewayUrl}/v1`, apiKey: network.apiKey });

const INFERENCE_ID_HEADER = "x-verity-inference-id";
/**
 * How long a call may take to be settled: decided within a second, batched on the settler's
 * next tick (10 s), co-signed, mined (a block a second) and two blocks deep.
 */
const SETTLED_WITHIN_MS = 60_000;

const hexOf = (pattern: RegExp) =>
  z.custom<Hex>((value) => typeof value === "string" && pattern.test(value), "not hex");
const Hex32 = hexOf(/^0x[0-9a-f]{64}$/i);
const Signature = hexOf(/^0x[0-9a-f]+$/i);
const Address = z.string().transform((value) => getAddress(value));
const Settlement = z.object({
  status: z.string(),
  outcome: z.string(),
  batchId: z.string().nullable(),
  root: Hex32.nullable(),
  contract: z.string().nullable(),
  chainId: z.number().nullable(),
  transactionHash: z.string().nullable(),
  blockNumber: z.number().nullable(),
  confirmedAt: z.number().nullable(),
});
const InferenceRecord = z.object({
  id: z.string(),
  status: z.string(),
  model: z.string(),
  receipt: Receipt,
  verification: z.object({
    status: z.string(),
    decidedAt: z.number().nullable(),
    strength: z.object({ strength: z.string(), strengthScore: z.number() }).nullable(),
    verdicts: z.array(
      z.object({
        verifier: Address,
        outcome: z.enum(["valid", "invalid", "abstain"]),
        signature: Signature,
        receivedAt: z.number(),
      }),
    ),
  }),
  settlement: Settlement.nullable(),
});
type InferenceRecord = z.infer<typeof InferenceRecord>;
const Proof = z.object({
  inferenceId: z.string(),
  batchId: z.string(),
  root: Hex32,
  leaf: z.object({ values: z.array(z.unknown()), types: z.array(z.string()), hash: Hex32 }),
  proof: z.array(Hex32),
  leafIndex: z.number(),
  contract: Address,
  chainId: z.number(),
  transactionHash: z.string(),
  blockNumber: z.number(),
});

async function chat(content: string): Promise<string> {
  const { response } = await client.chat.completions
    .create({ model: "verity-ngram-1", messages: [{ role: "user", content }], max_tokens: 16 })
    .withResponse();
  const id = response.headers.get(INFERENCE_ID_HEADER);
  if (!id) throw new Error(`no ${INFERENCE_ID_HEADER} header`);
  return id;
}

const getRecord = async (id: string) =>
  InferenceRecord.parse(await client.get(`/inferences/${id}`));

/** Polls the record until it is settled; fails after `SETTLED_WITHIN_MS`. */
async function settled(id: string): Promise<InferenceRecord> {
  const deadline = Date.now() + SETTLED_WITHIN_MS;
  for (;;) {
    const record = await getRecord(id);
    if (record.status === "settled") return record;
    if (Date.now() > deadline) {
      throw new Error(
        `inference ${id} is ${record.status} after ${SETTLED_WITHIN_MS / 1000} s: ${JSON.stringify(record.settlement)}`,
      );
    }
    await sleep(500);
  }
}

describe("settlement on the local chain", () => {
  it("names the chain, the contracts and the settler in local.json", () => {
    expect(network.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(network.chainId).toBe(31337);
    expect(network.contracts?.ledger).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(network.contracts?.registry).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(network.settler).toMatch(/^0x[0-9a-fA-F]{40}$/);
  });

  it("settles a verified chat answer, and its proof holds on-chain, in the tree library and against the record", {
    timeout: SETTLED_WITHIN_MS + 15_000,
  }, async () => {
    const { rpcUrl, contracts } = network;
    if (!rpcUrl || !contracts) throw new Error("local.json has no chain: npm start did not settle");
    const id = await chat("Tell me about the harbour and the boats in it.");
    // Settling takes a settler tick and two blocks at least: there is no proof yet.
    await expect(client.get(`/inferences/${id}/proof`)).rejects.toMatchObject({
      status: 404,
      code: "not_settled",
    });
    const record = await settled(id);

    expect(record.verification.status).toBe("verified");
    expect(record.settlement).toMatchObject({
      status: "confirmed",
      outcome: "verified",
      contract: contracts.ledger,
      chainId: 31337,
    });
    const proof = Proof.parse(await client.get(`/inferences/${id}/proof`));
    expect(proof).toMatchObject({
      inferenceId: id,
      batchId: record.settlement?.batchId,
      root: record.settlement?.root,
      contract: contracts.ledger,
      chainId: 31337,
      transactionHash: record.settlement?.transactionHash,
      blockNumber: record.settlement?.blockNumber,
    });
    const batchId = BigInt(proof.batchId);

    // (i) On-chain: the ledger holds the batch's root and includes this leaf under it.
    const chain = createPublicClient({ transport: http(rpcUrl) });
    const ledger = { address: contracts.ledger, abi: verityLedgerAbi } as const;
    const stored = await chain.readContract({
      ...ledger,
      functionName: "batch",
      args: [batchId],
    });
    expect(stored.root).toBe(proof.root);
    expect(Number(stored.blockNumber)).toBe(proof.blockNumber);
    expect(
      await chain.readContract({
        ...ledger,
        functionName: "isIncluded",
        args: [batchId, proof.proof, proof.leaf.hash],
      }),
    ).toBe(true);

    // (ii) The tree library, from the leaf's values: the proof leads to the root.
    expect(proof.leaf.types).toEqual(LEAF_TYPES_V2);
    expect(
      StandardMerkleTree.verify(proof.root, LEAF_TYPES_V2, proof.leaf.values, proof.proof),
    ).toBe(true);

    // (iii) The leaf from the record itself: the receipt (by its digest, and the fields
    // protocol v2 spells out), the outcome, its strength, and the digest of the verdicts the
    // round was decided on (those in by its decision; a late one still shows in the record but
    // was not part of the outcome).
    const { receipt, verification } = record;
    if (receipt.version !== 2) throw new Error(`a new receipt is version ${receipt.version}`);
    const decidedAt = verification.decidedAt ?? Number.POSITIVE_INFINITY;
    const counted = verification.verdicts.filter((v) => v.receivedAt <= decidedAt);
    expect(verification.strength).toEqual(UNSET_STRENGTH);
    const fromRecord = leafHash({
      version: 2,
      inferenceId: receipt.inferenceId,
      receiptDigest: receiptDigest(receipt),
      inferenceNode: receipt.node,
      outcome: LEAF_OUTCOME.verified,
      verdictsDigest: verdictsDigest(counted),
      modelDigest: receipt.modelDigest,
      ...UNSET_STRENGTH,
      fee: receipt.fee,
    });
    expect(fromRecord).toBe(proof.leaf.hash);
  });
});
