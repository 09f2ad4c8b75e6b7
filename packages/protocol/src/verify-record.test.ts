import { type Hex, keccak256, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { decidedRecord } from "../../../test/fixtures/verity-record";
import type { ChainView } from "./chain-view";
import { LEAF_TYPES, LEAF_TYPES_V2, leafHash } from "./merkle-leaf";
import { buildMerkleTree, proofIndices } from "./merkle-tree";
import { leafFromOutcome } from "./round-outcome";
import { UNSET_STRENGTH } from "./verification-strength";
import { RECORD_CHECKS, type RecordVerification, verifyRecord } from "./verify-record";
import { recordFromGateway, type VerityRecord } from "./verity-record";

const key = (label: string) =>
  privateKeyToAccount(keccak256(stringToHex(`verify-record ${label}`)));
const node = key("node");
const voters = [key("a"), key("b"), key("c")];

const statuses = (verification: RecordVerification) =>
  Object.fromEntries(verification.checks.map((c) => [c.check, c.status]));

/** The record settled (off any chain) as one of two leaves, with a proof to its root. */
function withSettlement(record: VerityRecord): VerityRecord {
  if (!record.round) throw new Error("not decided");
  const leaf = leafHash(leafFromOutcome(record.round));
  const tree = buildMerkleTree([leaf, keccak256(stringToHex("another record"))]);
  return {
    ...record,
    status: "settled",
    settlement: {
      chainId: 31337,
      ledger: key("ledger").address,
      batchId: "1",
      root: tree.root,
      leafHash: leaf,
      proof: proofIndices(tree.treeIndices[0] ?? 0).map((i) => tree.nodes[i] as Hex),
      transactionHash: keccak256(stringToHex("tx")),
      blockNumber: 10,
    },
  };
}

describe("verifyRecord", () => {
  it("runs every check, in order, once each", async () => {
    const verification = await verifyRecord(await decidedRecord({ node, voters }));
    expect(verification.checks.map((c) => c.check)).toEqual([...RECORD_CHECKS]);
  });

  it("checks a decided, unsettled record up to its decision and marks settlement pending", async () => {
    const verification = await verifyRecord(await decidedRecord({ node, voters }), {
      trustedNodes: [node.address],
    });
    expect(verification).toMatchObject({ ok: true, complete: false });
    expect(statuses(verification)).toEqual({
      record: "pass",
      request_hash: "pass",
      response_hash: "pass",
      receipt_signature: "pass",
      inference_node: "pass",
      round: "pass",
      verdicts_digest: "pass",
      verdict_signatures: "pass",
      committee: "pass",
      registry: "pending",
      quorum: "pending",
      leaf: "pending",
      proof: "pending",
      chain_id: "pending",
      root_on_chain: "pending",
      transaction: "pending",
      confirmations: "pending",
    });
  });

  it("marks a record whose round is not decided pending from the round on", async () => {
    const record = { ...(await decidedRecord({ node, voters })), round: null, status: "pending" };
    const verification = await verifyRecord(record);
    const after = RECORD_CHECKS.slice(RECORD_CHECKS.indexOf("round"));
    expect(verification.checks.filter((c) => c.status === "pending").map((c) => c.check)).toEqual(
      after,
    );
  });

  it("without a chain, checks the proof against the record's own root and leaves the chain unchecked", async () => {
    const verification = await verifyRecord(withSettlement(await decidedRecord({ node, voters })));
    expect(verification.ok).toBe(true);
    expect(statuses(verification)).toMatchObject({
      inference_node: "unchecked",
      registry: "unchecked",
      quorum: "unchecked",
      leaf: "pass",
      proof: "pass",
      chain_id: "unchecked",
      root_on_chain: "unchecked",
      transaction: "unchecked",
      confirmations: "unchecked",
    });
  });

  it("fails a receipt from a node that is not listed as unknown_node", async () => {
    const verification = await verifyRecord(await decidedRecord({ node, voters }), {
      trustedNodes: [key("someone else").address],
    });
    expect(verification.checks.find((c) => c.check === "inference_node")).toMatchObject({
      status: "fail",
      reason: "unknown_node",
    });
  });

  it("fails a round that claims more strength than its verdicts give, settled or not, and reports a bad verdicts digest on its own", async () => {
    const record = await decidedRecord({ node, voters });
    if (record.round?.version !== 2) throw new Error("fixture");
    const stronger = { ...record, round: { ...record.round, strengthScore: 1 } };
    const failed = async (r: VerityRecord) =>
      (await verifyRecord(r, { trustedNodes: [node.address] })).checks
        .filter((c) => c.status === "fail")
        .map((c) => `${c.check}:${c.reason}`);
    expect(await failed(stronger)).toEqual(["round:strength_mismatch"]);
    // Settled, the leaf it makes is not the one settled either.
    const settled = withSettlement(record);
    if (settled.round?.version !== 2) throw new Error("fixture");
    expect(await failed({ ...settled, round: { ...settled.round, strengthScore: 1 } })).toEqual([
      "round:strength_mismatch",
      "leaf:leaf_mismatch",
      "proof:proof_mismatch",
    ]);
    // Two things wrong at once: each is reported by its own check.
    const both = {
      ...record,
      round: { ...record.round, strengthScore: 1, verdictsDigest: record.receipt.requestHash },
    };
    expect(await failed(both)).toEqual([
      "round:strength_mismatch",
      "verdicts_digest:verdicts_digest_mismatch",
    ]);
  });

  it("fails a round of version-2 messages relabelled version 1, which would settle without its fee", async () => {
    const record = await decidedRecord({ node, voters });
    if (record.round?.version !== 2) throw new Error("fixture");
    const { strength: _, strengthScore: __, ...fields } = record.round;
    const downgraded = { ...record, round: { ...fields, version: 1 as const } };
    const verification = await verifyRecord(downgraded, { trustedNodes: [node.address] });
    expect(verification.checks.filter((c) => c.status === "fail")).toEqual([
      expect.objectContaining({ check: "round", reason: "version_downgrade" }),
    ]);
  });

  it("fails a malformed record at its first check, naming the field, and checks nothing else", async () => {
    const record = { ...(await decidedRecord({ node, voters })), receipt: { version: 1 } };
    const verification = await verifyRecord(record);
    expect(verification.checks[0]).toMatchObject({
      check: "record",
      status: "fail",
      reason: "malformed",
    });
    expect(verification.checks[0]?.detail).toMatch(/^receipt\./);
    expect(verification.checks.slice(1).every((c) => c.status === "pending")).toBe(true);
  });

  it("fails the links it cannot read when the chain does not answer, never throwing", async () => {
    const down = () => Promise.reject(new Error("connection refused"));
    const chain: ChainView = {
      chainId: down,
      blockNumber: down,
      registryOf: down,
      batch: down,
      isIncluded: down,
      transaction: down,
      registryAt: down,
    };
    const verification = await verifyRecord(withSettlement(await decidedRecord({ node, voters })), {
      chain,
    });
    expect(verification.ok).toBe(false);
    expect(verification.checks.find((c) => c.check === "registry")).toMatchObject({
      status: "fail",
      reason: "chain_unreadable",
    });
    expect(verification.checks.find((c) => c.check === "proof")?.detail).toContain(
      "connection refused",
    );
  });
});

describe("recordFromGateway", () => {
  /** The gateway's two answers for `record`, with one more verdict that came in too late. */
  function answers(
    record: VerityRecord,
    leafTypes = record.round?.version === 1 ? LEAF_TYPES : LEAF_TYPES_V2,
  ) {
    const { round, settlement } = record;
    if (!round || !settlement) throw new Error("fixture");
    const late = { counted: false, verdict: round.verdicts[0] };
    return [
      {
        id: record.inferenceId,
        status: "settled",
        request: record.request,
        response: record.response,
        receipt: record.receipt,
        verification: {
          status: "verified",
          quorum: round.quorum,
          committee: round.committee.map((address) => ({ address, attempt: 0 })),
          decidedAt: round.decidedAt,
          verdicts: [...round.verdicts.map((verdict) => ({ counted: true, verdict })), late],
          verdictsDigest: round.verdictsDigest,
          strength: round.version === 2 ? UNSET_STRENGTH : null,
        },
      },
      {
        batchId: settlement.batchId,
        root: settlement.root,
        leaf: { types: leafTypes, hash: settlement.leafHash },
        proof: settlement.proof,
        contract: settlement.ledger,
        chainId: settlement.chainId,
        transactionHash: settlement.transactionHash,
        blockNumber: settlement.blockNumber,
      },
    ] as const;
  }

  it("builds the record from the gateway's answers, keeping only the verdicts the decision counted", async () => {
    const record = withSettlement(await decidedRecord({ node, voters }));
    const [inference, proof] = answers(record);
    expect(recordFromGateway(inference, proof)).toEqual({ ok: true, record });
    // Unsettled: no proof yet.
    expect(recordFromGateway(inference, null)).toEqual({
      ok: true,
      record: { ...record, settlement: null },
    });
  });

  it("rebuilds the round in the version its settled leaf has, or, before settlement, its strength says", async () => {
    for (const protocol of [1, 2] as const) {
      const record = withSettlement(await decidedRecord({ node, voters, protocol }));
      const [inference, proof] = answers(record, protocol === 1 ? LEAF_TYPES : LEAF_TYPES_V2);
      expect(recordFromGateway(inference, proof)).toEqual({ ok: true, record });
      expect(recordFromGateway(inference, null)).toEqual({
        ok: true,
        record: { ...record, settlement: null },
      });
      const verification = await verifyRecord(record, { trustedNodes: [node.address] });
      expect(verification.checks.filter((c) => c.status === "fail")).toEqual([]);
      expect(statuses(verification)).toMatchObject({ leaf: "pass", proof: "pass" });
    }
  });

  it("refuses an answer whose leaf is of no known version as malformed_answer", async () => {
    const record = withSettlement(await decidedRecord({ node, voters }));
    const [inference, proof] = answers(record, ["bytes16"]);
    expect(recordFromGateway(inference, proof)).toMatchObject({
      ok: false,
      reason: "malformed_answer",
    });
    expect(recordFromGateway({ id: "not an id" }, null)).toMatchObject({
      ok: false,
      reason: "malformed_answer",
      message: expect.stringContaining("id"),
    });
  });
});
