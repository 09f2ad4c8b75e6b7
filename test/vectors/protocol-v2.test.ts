// Checks the committed protocol v2 vectors against the implementation and the spec; never
// regenerates them (scripts/gen-v2-vectors.ts does that, by hand).
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  domainSeparator,
  hashStruct,
  hashTypedData,
  keccak256,
  recoverTypedDataAddress,
  stringToBytes,
} from "viem";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import doc from "../../docs/protocol.md?raw";
import {
  Bytes32,
  checkOutcomeDigests,
  checkRoundOutcome,
  LeafValues,
  leafFromOutcome,
  leafHash,
  leafTuple,
  leafTypes,
  NormalizedRequest,
  RECEIPT_DOMAIN_V2,
  RECEIPT_TYPES_V2,
  Receipt,
  RoundOutcome,
  ResponseContent,
  receiptDigest,
  UnsignedReceipt,
  UnsignedVerdict,
  VERDICT_TYPES_V2,
  verdictDigest,
  verifyReceipt,
  verifyVerdict,
} from "@verity/protocol";
import vectorsFile from "./protocol-v2.json";

const Vectors = z.strictObject({
  description: z.string(),
  keys: z.strictObject({ node: z.string(), verifiers: z.array(z.string()) }),
  eip712: z.strictObject({
    domain: z.strictObject({ name: z.string(), version: z.string() }),
    domainSeparator: Bytes32,
    receiptType: z.string(),
    verdictType: z.string(),
  }),
  receipt: z.strictObject({
    request: NormalizedRequest,
    response: ResponseContent,
    unsigned: UnsignedReceipt,
    encodedStruct: z.array(Bytes32).length(10),
    digest: Bytes32,
    signed: Receipt,
  }),
  unsetReceipt: z.strictObject({ signed: Receipt, digest: Bytes32 }),
  verdict: z.strictObject({ unsigned: UnsignedVerdict, digest: Bytes32 }),
  outcome: RoundOutcome,
  leaves: z.array(
    z.strictObject({
      name: z.string(),
      types: z.array(z.string()),
      values: LeafValues,
      tuple: z.array(z.union([z.string(), z.number()])),
      hash: Bytes32,
    }),
  ),
});

const file = Vectors.parse(vectorsFile);
const node = file.keys.node as `0x${string}`;

describe("test/vectors/protocol-v2.json", () => {
  it("states the version-2 EIP-712 domain and type strings the code uses", () => {
    expect(file.eip712.domain).toEqual(RECEIPT_DOMAIN_V2);
    expect(file.eip712.domainSeparator).toBe(domainSeparator({ domain: RECEIPT_DOMAIN_V2 }));
    expect(file.eip712.receiptType).toBe(
      `Receipt(${RECEIPT_TYPES_V2.Receipt.map((f) => `${f.type} ${f.name}`).join(",")})`,
    );
    expect(file.eip712.verdictType).toBe(
      `Verdict(${VERDICT_TYPES_V2.Verdict.map((f) => `${f.type} ${f.name}`).join(",")})`,
    );
  });

  it("recomputes the version-2 receipt's struct words and digest, by hand and with viem", async () => {
    const { unsigned, encodedStruct, digest, signed } = file.receipt;
    if (unsigned.version !== 2) throw new Error("the vector's receipt is not version 2");
    expect(encodedStruct[0]).toBe(keccak256(stringToBytes(file.eip712.receiptType)));
    const structHash = keccak256(`0x${encodedStruct.map((w) => w.slice(2)).join("")}`);
    const message = { ...unsigned, createdAt: BigInt(unsigned.createdAt), fee: BigInt(unsigned.fee) };
    expect(hashStruct({ types: RECEIPT_TYPES_V2, primaryType: "Receipt", data: message })).toBe(
      structHash,
    );
    expect(keccak256(`0x1901${file.eip712.domainSeparator.slice(2)}${structHash.slice(2)}`)).toBe(
      digest,
    );
    expect(receiptDigest(unsigned)).toBe(digest);
    expect(
      await recoverTypedDataAddress({
        domain: RECEIPT_DOMAIN_V2,
        types: RECEIPT_TYPES_V2,
        primaryType: "Receipt",
        message,
        signature: signed.signature,
      }),
    ).toBe(node);
  });

  it("verifies both version-2 receipts with their content and node", async () => {
    const { request, response } = file.receipt;
    for (const { signed, digest } of [
      { signed: file.receipt.signed, digest: file.receipt.digest },
      file.unsetReceipt,
    ]) {
      expect(
        await verifyReceipt(signed, { request, response, trustedNodes: [node] }),
      ).toMatchObject({ ok: true, signer: node, digest });
    }
  });

  it("refuses a version-2 receipt with its fee or model digest changed, or relabelled version 1", async () => {
    const { signed } = file.receipt;
    if (signed.version !== 2) throw new Error("the vector's receipt is not version 2");
    const { modelDigest: _, fee: __, ...asV1 } = signed;
    for (const forged of [
      { ...signed, fee: "1" },
      { ...signed, modelDigest: file.unsetReceipt.digest },
      { ...asV1, version: 1 },
    ]) {
      expect(await verifyReceipt(forged, { trustedNodes: [node] })).toMatchObject({
        ok: false,
        reason: "signer_mismatch",
      });
    }
  });

  it("recomputes the version-2 verdict's digest with viem and verifies the outcome's verdicts", async () => {
    const { unsigned, digest } = file.verdict;
    expect(verdictDigest(unsigned)).toBe(digest);
    if (unsigned.version !== 2) throw new Error("the vector's verdict is not version 2");
    expect(
      hashTypedData({
        domain: RECEIPT_DOMAIN_V2,
        types: VERDICT_TYPES_V2,
        primaryType: "Verdict",
        message: { ...unsigned, outcome: 1, strength: 0 },
      }),
    ).toBe(digest);
    for (const [i, verdict] of file.outcome.verdicts.entries()) {
      expect(await verifyVerdict(verdict)).toMatchObject({
        ok: true,
        signer: file.keys.verifiers[i],
      });
    }
  });

  it("holds as a decided round: digests, strength, signatures and quorum", async () => {
    expect(checkOutcomeDigests(file.outcome)).toBeNull();
    expect(
      await checkRoundOutcome(file.outcome, {
        trustedNodes: [node],
        isRegistered: (v) => file.keys.verifiers.includes(v),
        quorum: file.outcome.quorum,
      }),
    ).toMatchObject({ ok: true });
  });

  it("refuses a round outcome that claims a strength its verdicts do not give", () => {
    if (file.outcome.version !== 2) throw new Error("the vector's outcome is not version 2");
    expect(checkOutcomeDigests({ ...file.outcome, strengthScore: 1 })).toMatchObject({
      ok: false,
      reason: "strength_mismatch",
      path: "strength",
    });
  });

  it("derives the version-2 leaf from the outcome", () => {
    expect(leafFromOutcome(file.outcome)).toEqual(file.leaves[0]?.values);
  });

  for (const leaf of file.leaves) {
    it(`hashes the ${leaf.name} leaf as the merkle-tree library does`, () => {
      const tuple = leafTuple(leaf.values);
      expect(tuple).toEqual(leaf.tuple);
      expect(leafTypes(tuple)).toEqual(leaf.types);
      expect(leafHash(leaf.values)).toBe(leaf.hash);
      expect(StandardMerkleTree.of([tuple], leaf.types).leafHash(tuple)).toBe(leaf.hash);
    });
  }

  it("is written out in docs/protocol.md with the same numbers", () => {
    for (const value of [
      file.eip712.receiptType,
      file.eip712.verdictType,
      file.eip712.domainSeparator,
      file.receipt.digest,
      file.receipt.signed.signature,
      ...(file.leaves.map((l) => l.hash) ?? []),
    ]) {
      expect(doc).toContain(value);
    }
  });
});
