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

/** The EIP-712 types of a receipt; the primary type is `Receipt`. */
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

/** A receipt before signing. `version` 1 is signed under `RECEIPT_DOMAIN.version` "1". */
export const UnsignedReceipt = z.strictObject({
  version: z.literal(1),
  inferenceId: InferenceId,
  model: JsonString.min(1),
  backend: JsonString.min(1),
  requestHash: Bytes32,
  responseHash: Bytes32,
  /** Unix milliseconds. */
  createdAt: z.int().min(0),
  node: ChecksumAddress,
});
export type UnsignedReceipt = z.infer<typeof UnsignedReceipt>;

/** The JSON form of a signed receipt. */
export const Receipt = UnsignedReceipt.extend({ signature: SignatureHex });
export type Receipt = z.infer<typeof Receipt>;

// The typed-data message: only the signed fields, createdAt as uint64.
const typedMessage = (receipt: UnsignedReceipt) => ({
  inferenceId: receipt.inferenceId,
  model: receipt.model,
  backend: receipt.backend,
  requestHash: receipt.requestHash,
  responseHash: receipt.responseHash,
  createdAt: BigInt(receipt.createdAt),
  node: receipt.node,
});

// EIP-712 by hand with precomputed constants: viem's hashTypedData re-derives
// and re-hashes the domain and type string and re-validates on every call,
// which doubled the cost of a receipt. Tests pin this to hashTypedData.
const DOMAIN_SEPARATOR = domainSeparator({ domain: RECEIPT_DOMAIN });
const RECEIPT_TYPE_HASH = keccak256(
  stringToBytes(`Receipt(${RECEIPT_TYPES.Receipt.map((f) => `${f.type} ${f.name}`).join(",")})`),
);
const hashString = (s: string) => keccak256(stringToBytes(s));

/** The EIP-712 typed-data hash of a receipt: what is signed, and what verdicts reference. */
export function receiptDigest(receipt: UnsignedReceipt): Hex {
  const structHash = keccak256(
    concat([
      RECEIPT_TYPE_HASH,
      hashString(receipt.inferenceId),
      hashString(receipt.model),
      hashString(receipt.backend),
      receipt.requestHash,
      receipt.responseHash,
      numberToHex(receipt.createdAt, { size: 32 }),
      padHex(receipt.node.toLowerCase() as Hex, { size: 32 }),
    ]),
  );
  return keccak256(concat(["0x1901", DOMAIN_SEPARATOR, structHash]));
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
    : await account.signTypedData({
        domain: RECEIPT_DOMAIN,
        types: RECEIPT_TYPES,
        primaryType: "Receipt",
        message: typedMessage(parsed),
      });
  if (!SignatureHex.safeParse(signature).success || !/(1b|1c)$/.test(signature)) {
    throw new Error(`account produced a signature that is not r || s || v(27|28): ${signature}`);
  }
  return { ...parsed, signature };
}
