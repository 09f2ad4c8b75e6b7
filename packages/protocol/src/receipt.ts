import {
  type Address,
  concat,
  domainSeparator,
  getAddress,
  type Hex,
  keccak256,
  type LocalAccount,
  numberToHex,
  padHex,
  stringToBytes,
  zeroHash,
} from "viem";
import { z } from "zod";
import { JsonString } from "./canonical";
import { InferenceId } from "./inference-id";

/**
 * The EIP-712 domain of receipts. It has no `chainId` or `verifyingContract` on purpose:
 * a receipt is an off-chain statement by a node, valid whatever chain (if any) later
 * settles it; settlement signs its own messages under its own on-chain domain.
 */
export const RECEIPT_DOMAIN = { name: "Verity", version: "1" } as const;

/**
 * The EIP-712 domain of version-2 receipts and verdicts: the same off-chain domain, a new
 * version, so that no version-1 signature can pass for a version-2 one.
 */
export const RECEIPT_DOMAIN_V2 = { name: "Verity", version: "2" } as const;

/** The EIP-712 types of a version-1 receipt; the primary type is `Receipt`. */
export const RECEIPT_TYPES = {
  Receipt: [
    { name: "inferenceId", type: "string" },
    { name: "model", type: "string" },
    { name: "backend", type: "string" },
    { name: "requestHash", type: "bytes32" },
    { name: "responseHash", type: "bytes32" },
    { name: "createdAt", type: "uint64" },
    { name: "node", type: "address" },
  ],
} as const;

/**
 * The EIP-712 types of a version-2 receipt: version 1's fields, then the two that protocol v2
 * reserves for the issues that fill them (see docs/protocol.md, "Protocol versions").
 */
export const RECEIPT_TYPES_V2 = {
  Receipt: [
    ...RECEIPT_TYPES.Receipt,
    { name: "modelDigest", type: "bytes32" },
    { name: "fee", type: "uint256" },
  ],
} as const;

/** A version-2 receipt's `modelDigest` until models are pinned: no version is claimed. */
export const UNSET_MODEL_DIGEST: Hex = zeroHash;
/** A version-2 receipt's `fee` until calls are priced: nothing was charged. */
export const UNSET_FEE = "0";

/** 0x-prefixed lowercase hex of 32 bytes, as viem's keccak256 prints it. */
export const Bytes32 = z.custom<Hex>(
  (v) => typeof v === "string" && /^0x[0-9a-f]{64}$/.test(v),
  "must be 0x followed by 64 lowercase hex digits",
);

/** An EIP-55 checksummed address (all-lowercase or all-uppercase forms are refused). */
export const ChecksumAddress = z.custom<Address>(
  (v) => typeof v === "string" && /^0x[0-9a-fA-F]{40}$/.test(v) && getAddress(v) === v,
  "must be an EIP-55 checksummed address",
);

/** A 65-byte signature r || s || v in 0x-prefixed lowercase hex. */
export const SignatureHex = z.custom<Hex>(
  (v) => typeof v === "string" && /^0x[0-9a-f]{130}$/.test(v),
  "must be 0x followed by 130 lowercase hex digits (r || s || v)",
);

/** A uint256 as a decimal string (JSON numbers cannot hold one exactly), no leading zeros. */
export const Uint256String = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,77})$/, "must be a decimal integer without leading zeros")
  .refine((v) => BigInt(v) < 2n ** 256n, "must fit in a uint256");

const receiptFields = {
  inferenceId: InferenceId,
  model: JsonString.min(1),
  backend: JsonString.min(1),
  requestHash: Bytes32,
  responseHash: Bytes32,
  /** Unix milliseconds. */
  createdAt: z.int().min(0),
  node: ChecksumAddress,
};

/** A version-1 receipt before signing, signed under `RECEIPT_DOMAIN` with `RECEIPT_TYPES`. */
export const UnsignedReceiptV1 = z.strictObject({ version: z.literal(1), ...receiptFields });

/** A version-2 receipt before signing, signed under `RECEIPT_DOMAIN_V2` with `RECEIPT_TYPES_V2`. */
export const UnsignedReceiptV2 = z.strictObject({
  version: z.literal(2),
  ...receiptFields,
  /** Which build of the model answered; `UNSET_MODEL_DIGEST` until models are pinned. */
  modelDigest: Bytes32,
  /** What the call cost, in the settlement token's smallest unit; `UNSET_FEE` until priced. */
  fee: Uint256String,
});

export type UnsignedReceiptV1 = z.infer<typeof UnsignedReceiptV1>;
export type UnsignedReceiptV2 = z.infer<typeof UnsignedReceiptV2>;

/** A receipt before signing, of either version; new receipts are version 2. */
export const UnsignedReceipt = z.discriminatedUnion("version", [
  UnsignedReceiptV1,
  UnsignedReceiptV2,
]);
export type UnsignedReceipt = z.infer<typeof UnsignedReceipt>;

/** The JSON form of a signed receipt. */
export const Receipt = z.discriminatedUnion("version", [
  UnsignedReceiptV1.extend({ signature: SignatureHex }),
  UnsignedReceiptV2.extend({ signature: SignatureHex }),
]);
export type Receipt = z.infer<typeof Receipt>;

const messageV1 = (receipt: UnsignedReceipt) => ({
  inferenceId: receipt.inferenceId,
  model: receipt.model,
  backend: receipt.backend,
  requestHash: receipt.requestHash,
  responseHash: receipt.responseHash,
  createdAt: BigInt(receipt.createdAt),
  node: receipt.node,
});

/** The EIP-712 domain, types and message of a version-1 receipt, as `signTypedData` takes them. */
export const receiptTypedDataV1 = (receipt: UnsignedReceiptV1) => ({
  domain: RECEIPT_DOMAIN,
  types: RECEIPT_TYPES,
  primaryType: "Receipt" as const,
  message: messageV1(receipt),
});

/** The EIP-712 domain, types and message of a version-2 receipt. */
export const receiptTypedDataV2 = (receipt: UnsignedReceiptV2) => ({
  domain: RECEIPT_DOMAIN_V2,
  types: RECEIPT_TYPES_V2,
  primaryType: "Receipt" as const,
  message: { ...messageV1(receipt), modelDigest: receipt.modelDigest, fee: BigInt(receipt.fee) },
});

// EIP-712 by hand with precomputed constants: viem's hashTypedData re-derives
// and re-hashes the domain and type string and re-validates on every call,
// which doubled the cost of a receipt. Tests pin this to hashTypedData.
const typeHash = (fields: readonly { name: string; type: string }[]) =>
  keccak256(stringToBytes(`Receipt(${fields.map((f) => `${f.type} ${f.name}`).join(",")})`));
const V1 = {
  domainSeparator: domainSeparator({ domain: RECEIPT_DOMAIN }),
  typeHash: typeHash(RECEIPT_TYPES.Receipt),
};
const V2 = {
  domainSeparator: domainSeparator({ domain: RECEIPT_DOMAIN_V2 }),
  typeHash: typeHash(RECEIPT_TYPES_V2.Receipt),
};
const hashString = (s: string) => keccak256(stringToBytes(s));

/** The EIP-712 typed-data hash of a receipt: what is signed, and what verdicts reference. */
export function receiptDigest(receipt: UnsignedReceipt): Hex {
  const { domainSeparator, typeHash } = receipt.version === 1 ? V1 : V2;
  const words: Hex[] = [
    typeHash,
    hashString(receipt.inferenceId),
    hashString(receipt.model),
    hashString(receipt.backend),
    receipt.requestHash,
    receipt.responseHash,
    numberToHex(receipt.createdAt, { size: 32 }),
    padHex(receipt.node.toLowerCase() as Hex, { size: 32 }),
  ];
  if (receipt.version === 2) {
    words.push(receipt.modelDigest, numberToHex(BigInt(receipt.fee), { size: 32 }));
  }
  return keccak256(concat(["0x1901", domainSeparator, keccak256(concat(words))]));
}

/**
 * Signs a receipt with the node's key. `unsigned.node` must be `account.address`.
 * The signature is r || s || v with v in {27, 28} and low s (viem's ECDSA is RFC 6979
 * deterministic, so the same receipt and key always give the same signature).
 *
 * @throws if the receipt is malformed or its `node` is not the account: both are bugs
 * in the caller, never something a client can cause.
 */
export async function signReceipt(
  unsigned: UnsignedReceipt,
  account: LocalAccount,
): Promise<Receipt> {
  const parsed = UnsignedReceipt.parse(unsigned);
  if (parsed.node.toLowerCase() !== account.address.toLowerCase()) {
    throw new Error(`receipt node ${parsed.node} is not the signing account ${account.address}`);
  }
  // Signing the digest directly skips the typed-data validation and hashing that
  // account.signTypedData would redo; the bytes signed are identical.
  const signature = account.sign
    ? await account.sign({ hash: receiptDigest(parsed) })
    : parsed.version === 1
      ? await account.signTypedData(receiptTypedDataV1(parsed))
      : await account.signTypedData(receiptTypedDataV2(parsed));
  if (!SignatureHex.safeParse(signature).success || !/(1b|1c)$/.test(signature)) {
    throw new Error(`account produced a signature that is not r || s || v(27|28): ${signature}`);
  }
  return { ...parsed, signature };
}
