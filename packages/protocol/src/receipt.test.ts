import {
  hashTypedData,
  type LocalAccount,
  recoverAddress,
  recoverTypedDataAddress,
  verifyTypedData,
} from "viem";
import { privateKeyToAccount, toAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { newInferenceId } from "./inference-id";
import {
  RECEIPT_DOMAIN,
  RECEIPT_DOMAIN_V2,
  RECEIPT_TYPES,
  RECEIPT_TYPES_V2,
  Receipt,
  receiptDigest,
  signReceipt,
  UNSET_FEE,
  UNSET_MODEL_DIGEST,
  type UnsignedReceipt,
  type UnsignedReceiptV1,
  type UnsignedReceiptV2,
} from "./receipt";
import { requestHash } from "./request";
import { responseHash } from "./response";

// anvil's well-known account #9 (also the vitest binding INFERENCE_NODE_KEY).
const account = privateKeyToAccount(
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
);
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

const unsigned = (changes: Partial<UnsignedReceiptV1> = {}): UnsignedReceiptV1 => ({
  version: 1,
  inferenceId: newInferenceId(),
  model: "@cf/meta/llama-3.1-8b-instruct",
  backend: "workers-ai",
  requestHash: requestHash({ kind: "embedding", model: "m", input: ["x"] }),
  responseHash: responseHash({ kind: "chat", content: "y", finish_reason: "stop" }),
  createdAt: 1767225600000,
  node: account.address,
  ...changes,
});

const typedData = (r: UnsignedReceipt) =>
  ({
    domain: RECEIPT_DOMAIN,
    types: RECEIPT_TYPES,
    primaryType: "Receipt",
    message: { ...r, createdAt: BigInt(r.createdAt) },
  }) as const;

describe("RECEIPT_DOMAIN and RECEIPT_TYPES", () => {
  it("are the documented off-chain domain (no chainId) and field order", () => {
    expect(RECEIPT_DOMAIN).toEqual({ name: "Verity", version: "1" });
    expect(RECEIPT_TYPES.Receipt.map((f) => `${f.type} ${f.name}`).join(",")).toBe(
      "string inferenceId,string model,string backend,bytes32 requestHash,bytes32 responseHash,uint64 createdAt,address node",
    );
  });
});

describe("receiptDigest", () => {
  it.each([
    ["a typical receipt", unsigned()],
    [
      "non-ASCII model and backend names",
      unsigned({ model: "modèle/🚀", backend: "openai-compatible" }),
    ],
    ["createdAt 0", unsigned({ createdAt: 0 })],
    ["the largest safe createdAt", unsigned({ createdAt: Number.MAX_SAFE_INTEGER })],
    ["another node", unsigned({ node: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" })],
  ])("equals viem's hashTypedData for %s", (_, r) => {
    expect(receiptDigest(r)).toBe(hashTypedData(typedData(r)));
  });

  it("ignores the signature of a signed receipt", async () => {
    const r = unsigned();
    expect(receiptDigest(await signReceipt(r, account))).toBe(receiptDigest(r));
  });
});

describe("signReceipt", () => {
  it("returns the receipt with a signature that recovers to the node address", async () => {
    const r = unsigned();
    const signed = await signReceipt(r, account);
    expect(Receipt.parse(signed)).toEqual({ ...r, signature: signed.signature });
    expect(await recoverTypedDataAddress({ ...typedData(r), signature: signed.signature })).toBe(
      account.address,
    );
    expect(await recoverAddress({ hash: receiptDigest(r), signature: signed.signature })).toBe(
      r.node,
    );
    expect(
      await verifyTypedData({ ...typedData(r), address: r.node, signature: signed.signature }),
    ).toBe(true);
  });

  it("is deterministic (RFC 6979) and writes r || s || v with v in {27, 28} and low s", async () => {
    const r = unsigned();
    const [a, b] = await Promise.all([signReceipt(r, account), signReceipt(r, account)]);
    expect(a.signature).toBe(b.signature);
    for (let i = 0; i < 8; i++) {
      const { signature } = await signReceipt(unsigned(), account);
      expect(signature).toMatch(/^0x[0-9a-f]{128}(1b|1c)$/);
      expect(BigInt(`0x${signature.slice(66, 130)}`) <= HALF_N).toBe(true);
    }
  });

  it("signs identically through signTypedData for accounts that cannot sign a raw hash", async () => {
    const typedOnly: LocalAccount = {
      ...toAccount({
        address: account.address,
        signMessage: account.signMessage,
        signTransaction: account.signTransaction,
        signTypedData: account.signTypedData,
      }),
      sign: undefined,
    };
    const r = unsigned();
    expect((await signReceipt(r, typedOnly)).signature).toBe(
      (await signReceipt(r, account)).signature,
    );
  });

  it("refuses to sign for a node other than the signing account", async () => {
    const r = unsigned({ node: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" });
    await expect(signReceipt(r, account)).rejects.toThrow(/not the signing account/);
  });

  it("refuses to sign a malformed receipt", async () => {
    await expect(signReceipt(unsigned({ createdAt: 1.5 }), account)).rejects.toThrow();
    await expect(
      signReceipt({ ...unsigned(), extra: 1 } as UnsignedReceipt, account),
    ).rejects.toThrow();
  });
});

describe("Receipt", () => {
  const valid = async () => signReceipt(unsigned(), account);

  it.each([
    ["version 2", { version: 2 }],
    ["a lowercase (unchecksummed) node", { node: account.address.toLowerCase() }],
    ["a wrongly checksummed node", { node: "0xA0ee7A142d267C1f36714E4a8F75612F20a79720" }],
    ["an uppercase request hash", { requestHash: `0x${"AB".repeat(32)}` }],
    ["a 31-byte response hash", { responseHash: `0x${"ab".repeat(31)}` }],
    ["a 64-byte signature", { signature: `0x${"ab".repeat(64)}` }],
    ["a negative createdAt", { createdAt: -1 }],
    ["createdAt as a string", { createdAt: "1767225600000" }],
    ["createdAt in seconds as a float", { createdAt: 1767225600.5 }],
    ["an inference id that is not a UUIDv7", { inferenceId: "inf_123" }],
    ["an empty model", { model: "" }],
    ["an extra field", { chainId: 1 }],
  ])("refuses %s", async (_, change) => {
    expect(Receipt.safeParse({ ...(await valid()), ...change }).success).toBe(false);
  });

  it("refuses a receipt without its signature", async () => {
    const { signature: _, ...rest } = await valid();
    expect(Receipt.safeParse(rest).success).toBe(false);
  });
});

describe("version-2 receipts", () => {
  const v2 = (changes: Partial<UnsignedReceiptV2> = {}): UnsignedReceiptV2 => ({
    ...unsigned(),
    version: 2,
    modelDigest: UNSET_MODEL_DIGEST,
    fee: UNSET_FEE,
    ...changes,
  });
  const typedDataV2 = (r: UnsignedReceiptV2) =>
    ({
      domain: RECEIPT_DOMAIN_V2,
      types: RECEIPT_TYPES_V2,
      primaryType: "Receipt",
      message: { ...r, createdAt: BigInt(r.createdAt), fee: BigInt(r.fee) },
    }) as const;

  it("add the model digest and the fee to version 1's fields, under domain version 2", () => {
    expect(RECEIPT_DOMAIN_V2).toEqual({ name: "Verity", version: "2" });
    expect(RECEIPT_TYPES_V2.Receipt.map((f) => `${f.type} ${f.name}`).join(",")).toBe(
      "string inferenceId,string model,string backend,bytes32 requestHash,bytes32 responseHash,uint64 createdAt,address node,bytes32 modelDigest,uint256 fee",
    );
    expect(UNSET_MODEL_DIGEST).toBe(`0x${"00".repeat(32)}`);
    expect(UNSET_FEE).toBe("0");
  });

  it.each([
    ["unset fields", v2()],
    ["a pinned model and a fee", v2({ modelDigest: `0x${"ab".repeat(32)}`, fee: "1500000" })],
    ["a fee past 2^53", v2({ fee: "9007199254740993" })],
    ["the largest uint256 fee", v2({ fee: (2n ** 256n - 1n).toString() })],
  ])("hash as viem's hashTypedData for %s, and sign to the node", async (_, r) => {
    expect(receiptDigest(r)).toBe(hashTypedData(typedDataV2(r)));
    const signed = await signReceipt(r, account);
    expect(Receipt.parse(signed)).toEqual({ ...r, signature: signed.signature });
    expect(await recoverTypedDataAddress({ ...typedDataV2(r), signature: signed.signature })).toBe(
      account.address,
    );
  });

  it("never share a digest with the version-1 receipt of the same call", () => {
    const { version: _, modelDigest: __, fee: ___, ...fields } = v2();
    expect(receiptDigest(v2())).not.toBe(receiptDigest({ ...fields, version: 1 }));
  });

  it("refuse a fee that is not a uint256 in plain decimal, and a missing reserved field", async () => {
    for (const fee of ["01", "-1", "1.5", "0x10", (2n ** 256n).toString(), ""]) {
      await expect(signReceipt(v2({ fee }), account), fee).rejects.toThrow();
    }
    const { fee: _, ...missing } = v2();
    expect(Receipt.safeParse({ ...missing, signature: `0x${"11".repeat(65)}` }).success).toBe(
      false,
    );
  });
});
