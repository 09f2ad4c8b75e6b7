// Attacks on the running network through its public surface, as an API-key holder would make
// them (issue "Settlement and verification that hold under attack").
import { setTimeout as sleep } from "node:timers/promises";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { BATCH_PROPOSAL_HEADER, signBatchProposal } from "@verity/protocol/batch-proposal";
import { LEAF_TYPES, leafTuple } from "@verity/protocol/merkle-leaf";
import { Receipt, receiptDigest } from "@verity/protocol/receipt";
import { leafFromOutcome, type RoundOutcome } from "@verity/protocol/round-outcome";
import { ledgerDomain } from "@verity/protocol/settlement-batch";
import { Verdict } from "@verity/protocol/verdict";
import OpenAI from "openai";
import { type Hex, keccak256, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, inject, it } from "vitest";
import { z } from "zod";

const network = inject("localNetwork");
const client = new OpenAI({ baseURL: `${network.gatewayUrl}/v1`, apiKey: network.apiKey });

const DECIDED_WITHIN_MS = 20_000;
const SETTLED_WITHIN_MS = 60_000;

const Record = z.object({
  status: z.string(),
  receipt: Receipt,
  verification: z.object({
    status: z.string(),
    quorum: z.number().optional(),
    committee: z.array(z.object({ address: z.string() })),
    decidedAt: z.number().nullable().optional(),
    verdictsDigest: z.string().nullable().optional(),
    verdicts: z.array(z.object({ counted: z.boolean(), verdict: Verdict })),
  }),
});
type Record = z.infer<typeof Record>;

const getRecord = async (id: string) => Record.parse(await client.get(`/inferences/${id}`));

async function until(id: string, done: (r: Record) => boolean, withinMs: number) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const record = await getRecord(id);
    if (done(record)) return record;
    if (Date.now() > deadline) throw new Error(`${id} is still ${record.status}`);
    await sleep(200);
  }
}

/** The decided round as anyone holding the record can rebuild it from GET /v1/inferences/{id}. */
function outcomeOf(id: string, record: Record): RoundOutcome {
  const { verification: v } = record;
  return {
    version: 1,
    inferenceId: id,
    outcome: "verified",
    receipt: record.receipt,
    receiptDigest: receiptDigest(record.receipt),
    quorum: v.quorum ?? 2,
    committee: v.committee.map((m) => m.address) as RoundOutcome["committee"],
    verdicts: v.verdicts.filter((x) => x.counted).map((x) => x.verdict),
    verdictsDigest: v.verdictsDigest as Hex,
    decidedAt: v.decidedAt ?? 0,
  };
}

describe("an API-key holder attacking settlement", () => {
  it("cannot get any verifier to co-sign its own record under a batch id of its choosing, and the record still settles once", {
    timeout: SETTLED_WITHIN_MS + 15_000,
  }, async () => {
    const { contracts, chainId } = network;
    if (!contracts || !chainId) throw new Error("npm start did not settle");
    const { response } = await client.chat.completions
      .create({
        model: "verity-ngram-1",
        messages: [{ role: "user", content: "Tell me about lighthouses." }],
        max_tokens: 8,
      })
      .withResponse();
    const id = response.headers.get("x-verity-inference-id") ?? "";
    const record = await until(id, (r) => r.status === "verified", DECIDED_WITHIN_MS);

    // The squatting attack: a well-formed batch of the attacker's own decided record, under a
    // batch id far ahead of the settler's, proposed without the settler's key or with the
    // attacker's own.
    const outcome = outcomeOf(id, record);
    const root = StandardMerkleTree.of([leafTuple(leafFromOutcome(outcome))], LEAF_TYPES).root;
    const batch = { batchId: "1000000", root: root as Hex, count: 1 };
    const body = JSON.stringify({ batch, chainId, ledger: contracts.ledger, outcomes: [outcome] });
    const attacker = privateKeyToAccount(keccak256(stringToHex("an API-key holder's own key")));
    const ownProposal = await signBatchProposal(
      batch,
      ledgerDomain(chainId, contracts.ledger),
      attacker,
    );
    for (const verifier of network.verifiers) {
      const unproposed = await fetch(`${verifier.url}/v1/batches/sign`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(unproposed.status).toBe(401);
      const selfProposed = await fetch(`${verifier.url}/v1/batches/sign`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [BATCH_PROPOSAL_HEADER]: JSON.stringify(ownProposal),
        },
        body,
      });
      expect(selfProposed.status).toBe(403);
      expect(((await selfProposed.json()) as { error: { code: string } }).error.code).toBe(
        "not_the_settler",
      );
    }

    // Settlement goes on: the record lands in the settler's batch.
    const settled = await until(id, (r) => r.status === "settled", SETTLED_WITHIN_MS);
    expect(settled.status).toBe("settled");
  });
});
