// Checks the committed vectors against the implementation and the spec; never regenerates them
// (scripts/gen-vectors.ts does that, on purpose, by hand).
import {
  concat,
  domainSeparator,
  hashStruct,
  hashTypedData,
  keccak256,
  recoverTypedDataAddress,
  stringToBytes,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import doc from "../../docs/protocol.md?raw";
import {
  Bytes32,
  canonicalJson,
  NormalizedRequest,
  RECEIPT_DOMAIN,
  RECEIPT_TYPES,
  Receipt,
  receiptDigest,
  requestHash,
  ResponseContent,
  responseHash,
  signReceipt,
  UnsignedReceipt,
  verifyReceipt,
} from "@verity/protocol";
import canonicalFile from "./canonical.json";
import receiptsFile from "./receipts.json";

const Vectors = z.strictObject({
  description: z.string(),
  key: z.strictObject({ privateKey: Bytes32, address: z.string() }),
  eip712: z.strictObject({
    domain: z.strictObject({ name: z.string(), version: z.string() }),
    domainType: z.string(),
    domainSeparator: Bytes32,
    receiptType: z.string(),
    receiptTypeHash: Bytes32,
  }),
  vectors: z.array(
    z.strictObject({
      name: z.string(),
      description: z.string(),
      request: NormalizedRequest,
      requestCanonical: z.string(),
      requestHash: Bytes32,
      response: ResponseContent,
      responseCanonical: z.string(),
      responseHash: Bytes32,
      unsignedReceipt: UnsignedReceipt,
      encodedStruct: z.array(Bytes32).length(8),
      structHash: Bytes32,
      digest: Bytes32,
      receipt: Receipt,
    }),
  ),
  negative: z.array(
    z.strictObject({
      name: z.string(),
      description: z.string(),
      receipt: z.unknown(),
      request: z.unknown().optional(),
      response: z.unknown().optional(),
      trustedNodes: z.array(z.string()).optional(),
      expected: z.strictObject({ ok: z.literal(false), reason: z.string() }),
    }),
  ),
});

const file = Vectors.parse(receiptsFile);
const account = privateKeyToAccount(file.key.privateKey);

describe("test/vectors/receipts.json", () => {
  it("uses anvil account #9, whose address it states", () => {
    expect(account.address).toBe(file.key.address);
    expect(file.key.address).toBe("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720");
  });

  it("states the EIP-712 domain, type string and hashes the code uses", () => {
    expect(file.eip712.domain).toEqual(RECEIPT_DOMAIN);
    expect(file.eip712.domainSeparator).toBe(domainSeparator({ domain: RECEIPT_DOMAIN }));
    expect(file.eip712.domainSeparator).toBe(
      keccak256(
        concat([
          keccak256(stringToBytes(file.eip712.domainType)),
          keccak256(stringToBytes(RECEIPT_DOMAIN.name)),
          keccak256(stringToBytes(RECEIPT_DOMAIN.version)),
        ]),
      ),
    );
    expect(file.eip712.receiptType).toBe(
      `Receipt(${RECEIPT_TYPES.Receipt.map((f) => `${f.type} ${f.name}`).join(",")})`,
    );
    expect(file.eip712.receiptTypeHash).toBe(keccak256(stringToBytes(file.eip712.receiptType)));
  });

  it("covers a chat and an embedding example", () => {
    expect(file.vectors.map((v) => v.request.kind).sort()).toEqual(["chat", "embedding"]);
  });

  for (const v of file.vectors) {
    describe(`${v.name} example`, () => {
      it("recomputes the canonical JSON and hash of the request and of the response", () => {
        expect(canonicalJson(v.request)).toBe(v.requestCanonical);
        expect(requestHash(v.request)).toBe(v.requestHash);
        expect(keccak256(stringToBytes(v.requestCanonical))).toBe(v.requestHash);
        expect(canonicalJson(v.response)).toBe(v.responseCanonical);
        expect(responseHash(v.response)).toBe(v.responseHash);
        expect(keccak256(stringToBytes(v.responseCanonical))).toBe(v.responseHash);
      });

      it("has an unsigned receipt that commits to that request and response", () => {
        expect(v.unsignedReceipt).toMatchObject({
          version: 1,
          model: v.request.model,
          requestHash: v.requestHash,
          responseHash: v.responseHash,
          node: file.key.address,
        });
        const { signature: _, ...unsigned } = v.receipt;
        expect(unsigned).toEqual(v.unsignedReceipt);
      });

      it("recomputes the struct encoding, struct hash and digest, by hand and with viem", () => {
        const u = v.unsignedReceipt;
        const message = { ...u, createdAt: BigInt(u.createdAt) };
        expect(keccak256(`0x${v.encodedStruct.map((w) => w.slice(2)).join("")}`)).toBe(
          v.structHash,
        );
        expect(hashStruct({ types: RECEIPT_TYPES, primaryType: "Receipt", data: message })).toBe(
          v.structHash,
        );
        expect(
          keccak256(`0x1901${file.eip712.domainSeparator.slice(2)}${v.structHash.slice(2)}`),
        ).toBe(v.digest);
        expect(receiptDigest(u)).toBe(v.digest);
        expect(
          hashTypedData({
            domain: RECEIPT_DOMAIN,
            types: RECEIPT_TYPES,
            primaryType: "Receipt",
            message,
          }),
        ).toBe(v.digest);
      });

      it("re-signs to the same signature, which recovers to the node", async () => {
        expect((await signReceipt(v.unsignedReceipt, account)).signature).toBe(v.receipt.signature);
        expect(
          await recoverTypedDataAddress({
            domain: RECEIPT_DOMAIN,
            types: RECEIPT_TYPES,
            primaryType: "Receipt",
            message: { ...v.unsignedReceipt, createdAt: BigInt(v.unsignedReceipt.createdAt) },
            signature: v.receipt.signature,
          }),
        ).toBe(v.receipt.node);
      });

      it("verifies with its request, response and node", async () => {
        expect(
          await verifyReceipt(v.receipt, {
            request: v.request,
            response: v.response,
            trustedNodes: [account.address],
          }),
        ).toEqual({ ok: true, signer: account.address, digest: v.digest, receipt: v.receipt });
      });

      it("is written out in docs/protocol.md with the same numbers", () => {
        for (const value of [
          v.requestCanonical,
          v.requestHash,
          v.responseCanonical,
          v.responseHash,
          v.structHash,
          v.digest,
          v.receipt.signature,
          v.receipt.inferenceId,
          String(v.receipt.createdAt),
        ]) {
          expect(doc).toContain(value);
        }
      });
    });
  }

  for (const n of file.negative) {
    it(`refuses the ${n.name} receipt with ${n.expected.reason}`, async () => {
      const result = await verifyReceipt(n.receipt, {
        request: n.request as NormalizedRequest | undefined,
        response: n.response as ResponseContent | undefined,
        trustedNodes: n.trustedNodes as `0x${string}`[] | undefined,
      });
      expect(result).toMatchObject(n.expected);
    });
  }

  it("has a negative vector for every refusal reason a node can cause", () => {
    expect(new Set(file.negative.map((n) => n.expected.reason))).toEqual(
      new Set([
        "malformed",
        "bad_signature",
        "signer_mismatch",
        "untrusted_node",
        "request_hash_mismatch",
        "response_hash_mismatch",
        "model_mismatch",
        "kind_mismatch",
      ]),
    );
  });
});

describe("docs/protocol.md", () => {
  it("states the EIP-712 constants, the chat example's struct words and signature parts", () => {
    const chat = file.vectors.find((v) => v.name === "chat");
    if (!chat) throw new Error("no chat vector");
    const sig = chat.receipt.signature;
    for (const value of [
      file.eip712.receiptType,
      file.eip712.domainType,
      file.eip712.domainSeparator,
      file.eip712.receiptTypeHash,
      file.key.privateKey,
      file.key.address,
      ...chat.encodedStruct,
      `r = 0x${sig.slice(2, 66)}`,
      `s = 0x${sig.slice(66, 130)}`,
      `v = 0x${sig.slice(130)}`,
      keccak256(new Uint8Array(0)),
    ]) {
      expect(doc).toContain(value);
    }
  });

  it("keeps the Verdicts section for the verification layer", () => {
    expect(doc).toMatch(/^## Verdicts$/m);
  });
});

describe("test/vectors/canonical.json", () => {
  for (const c of canonicalFile.cases) {
    it(`canonicalises ${c.name} as RFC 8785 specifies`, () => {
      expect(canonicalJson(JSON.parse(c.input))).toBe(c.canonical);
    });
  }
  for (const c of canonicalFile.rejected) {
    it(`refuses ${c.name}`, () => {
      expect(() => canonicalJson(JSON.parse(c.input))).toThrow(/lone surrogate/);
    });
  }
});
