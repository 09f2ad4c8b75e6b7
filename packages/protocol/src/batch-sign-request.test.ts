import { keccak256, stringToBytes } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import {
  BatchCoSignature,
  BatchSignRequest,
  DecimalUint64,
  MAX_BATCH_OUTCOMES,
  settlementBatchFromJson,
  settlementBatchToJson,
} from "./batch-sign-request";
import { receiptDigest, signReceipt } from "./receipt";
import { type RoundOutcome, verdictsDigest } from "./round-outcome";
import {
  ledgerDomain,
  recoverBatchSigner,
  type SettlementBatch,
  signBatch,
} from "./settlement-batch";
import { checksDigest, signVerdict } from "./verdict";

// anvil's well-known accounts #9 (an inference node) and #8, #7 (verifiers): public test keys.
const node = privateKeyToAccount(
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
);
const verifiers = [
  privateKeyToAccount("0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97"),
  privateKeyToAccount("0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356"),
];
const LEDGER = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const root = keccak256(stringToBytes("root"));

async function outcome(): Promise<RoundOutcome> {
  const inferenceId = "019b76da-a800-7c1f-9a2b-4d3e5f607182";
  const receipt = await signReceipt(
    {
      version: 1,
      inferenceId,
      model: "verity-ngram-1",
      backend: "reference",
      requestHash: keccak256(stringToBytes("request")),
      responseHash: keccak256(stringToBytes("response")),
      createdAt: 1767225600000,
      node: node.address,
    },
    node,
  );
  const checks = [{ check: "rules@1", status: "pass" as const, reason: "ok" }];
  const verdicts = await Promise.all(
    verifiers.map((account) =>
      signVerdict(
        {
          version: 1,
          inferenceId,
          receiptDigest: receiptDigest(receipt),
          outcome: "valid",
          checks,
          checksDigest: checksDigest(checks),
          policyHash: keccak256(stringToBytes("policy")),
          verifier: account.address,
        },
        account,
      ),
    ),
  );
  return {
    version: 1,
    inferenceId,
    outcome: "verified",
    receipt,
    receiptDigest: receiptDigest(receipt),
    quorum: 2,
    committee: verifiers.map((v) => v.address),
    verdicts,
    verdictsDigest: verdictsDigest(verdicts),
    decidedAt: 1767225601000,
  };
}

const request = async (changes: Record<string, unknown> = {}) => ({
  batch: { batchId: "7", root, count: 1 },
  chainId: 31337,
  ledger: LEDGER,
  outcomes: [await outcome()],
  ...changes,
});

describe("DecimalUint64", () => {
  it.each(["0", "1", "18446744073709551615"])("accepts %s", (id) => {
    expect(DecimalUint64.parse(id)).toBe(id);
  });

  it.each([
    ["leading zeros", "01"],
    ["2^64", "18446744073709551616"],
    ["a negative number", "-1"],
    ["hex", "0x1"],
    ["an empty string", ""],
    ["a JSON number", 1],
  ])("refuses %s", (_name, id) => {
    expect(DecimalUint64.safeParse(id).success).toBe(false);
  });
});

describe("settlementBatchToJson / settlementBatchFromJson", () => {
  it("round-trip a batch, its 64-bit id exactly", () => {
    const batch: SettlementBatch = { batchId: 2n ** 64n - 1n, root, count: 1000 };
    const json = settlementBatchToJson(batch);
    expect(json).toEqual({ batchId: "18446744073709551615", root, count: 1000 });
    expect(settlementBatchFromJson(JSON.parse(JSON.stringify(json)))).toEqual(batch);
  });
});

describe("BatchSignRequest", () => {
  it("accepts a batch, a chain, a ledger and the decided rounds", async () => {
    const body = await request();
    expect(BatchSignRequest.parse(JSON.parse(JSON.stringify(body)))).toEqual(body);
  });

  it.each([
    ["an unknown member", { signatures: [] }, "signatures"],
    ["no outcomes", { outcomes: [] }, "outcomes"],
    ["a count of 0", { batch: { batchId: "7", root, count: 0 } }, "batch.count"],
    ["a numeric batch id", { batch: { batchId: 7, root, count: 1 } }, "batch.batchId"],
    [
      "an uppercase root",
      { batch: { batchId: "7", root: root.toUpperCase(), count: 1 } },
      "batch.root",
    ],
    ["a lowercase ledger", { ledger: LEDGER.toLowerCase() }, "ledger"],
    ["chain id 0", { chainId: 0 }, "chainId"],
  ])("refuses %s", async (_name, changes, path) => {
    const result = BatchSignRequest.safeParse(await request(changes));
    expect(result.success).toBe(false);
    const issue = result.error?.issues[0];
    const where = [
      ...(issue?.path ?? []),
      ...(issue?.code === "unrecognized_keys" ? issue.keys : []),
    ];
    expect(where.join(".")).toBe(path);
  });

  it(`refuses more than MAX_BATCH_OUTCOMES (${MAX_BATCH_OUTCOMES}) outcomes`, async () => {
    const one = await outcome();
    const outcomes = (n: number) => Array.from({ length: n }, () => one);
    expect(
      BatchSignRequest.safeParse(await request({ outcomes: outcomes(MAX_BATCH_OUTCOMES) })).success,
    ).toBe(true);
    expect(
      BatchSignRequest.safeParse(await request({ outcomes: outcomes(MAX_BATCH_OUTCOMES + 1) }))
        .success,
    ).toBe(false);
  });

  it("refuses an outcome that is not a RoundOutcome", async () => {
    const bad = { ...(await outcome()), verdictsDigest: "0x00" };
    expect(BatchSignRequest.safeParse(await request({ outcomes: [bad] })).success).toBe(false);
  });
});

describe("BatchCoSignature", () => {
  it("parses what signBatch returns, which recovers to the signer", async () => {
    const batch: SettlementBatch = { batchId: 7n, root, count: 1 };
    const domain = ledgerDomain(31337, LEDGER);
    const signed = BatchCoSignature.parse(await signBatch(batch, domain, verifiers[0] ?? node));
    expect(await recoverBatchSigner(batch, domain, signed.signature)).toEqual({
      ok: true,
      signer: signed.signer,
    });
  });

  it("refuses extra members, a lowercase signer and a short signature", async () => {
    const signed = await signBatch({ batchId: 7n, root, count: 1 }, ledgerDomain(1, LEDGER), node);
    for (const bad of [
      { ...signed, batchId: "7" },
      { ...signed, signer: signed.signer.toLowerCase() },
      { ...signed, signature: signed.signature.slice(0, 130) },
    ]) {
      expect(BatchCoSignature.safeParse(bad).success).toBe(false);
    }
  });
});
