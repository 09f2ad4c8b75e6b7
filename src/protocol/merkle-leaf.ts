import { type Address, type Hex, hexToBytes } from "viem";
import { z } from "zod";
import { JsonString } from "./canonical";
import { InferenceId } from "./inference-id";
import { keccak256 } from "./keccak256";
import { Bytes32, ChecksumAddress } from "./receipt";

/**
 * The fields of a settlement leaf, in encoding order. The same order is `VerityLedger.Leaf`
 * on-chain: changing either changes every leaf hash.
 */
export const LEAF_FIELDS = [
  { name: "inferenceId", type: "bytes16" },
  { name: "requestHash", type: "bytes32" },
  { name: "responseHash", type: "bytes32" },
  { name: "model", type: "string" },
  { name: "inferenceNode", type: "address" },
  { name: "outcome", type: "uint8" },
  { name: "verdictsDigest", type: "bytes32" },
  { name: "createdAt", type: "uint64" },
] as const;

/** The leaf encoding as `StandardMerkleTree.of(values, LEAF_TYPES)` takes it. */
export const LEAF_TYPES: string[] = LEAF_FIELDS.map((field) => field.type);

/** A leaf's `outcome`: what the verifiers concluded about the inference. */
export const LEAF_OUTCOME = { verified: 1, rejected: 2 } as const;

/** One settled record: an inference and the verifiers' verdict on it. */
export const LeafValues = z.strictObject({
  inferenceId: InferenceId,
  requestHash: Bytes32,
  responseHash: Bytes32,
  model: JsonString.min(1),
  inferenceNode: ChecksumAddress,
  outcome: z.union([z.literal(LEAF_OUTCOME.verified), z.literal(LEAF_OUTCOME.rejected)]),
  /** A digest of the verdict signatures, as the verification layer defines it. */
  verdictsDigest: Bytes32,
  /** Unix milliseconds. */
  createdAt: z.int().min(0),
});
export type LeafValues = z.infer<typeof LeafValues>;

/**
 * A leaf as `StandardMerkleTree` holds it, in `LEAF_TYPES` order. Plain JSON values only
 * (`createdAt` is a number, not a bigint), so a tree's `dump()` survives `JSON.stringify`.
 */
export type LeafTuple = [
  inferenceId: Hex,
  requestHash: Hex,
  responseHash: Hex,
  model: string,
  inferenceNode: Address,
  outcome: number,
  verdictsDigest: Hex,
  createdAt: number,
];

/**
 * The tuple for `StandardMerkleTree.of(tuples, LEAF_TYPES)`. The inference id becomes its
 * 16 UUID bytes.
 *
 * @throws ZodError if `values` is malformed: the caller builds leaves from stored, already
 * validated records, so this is a bug.
 */
export function leafTuple(values: LeafValues): LeafTuple {
  const v = LeafValues.parse(values);
  return [
    `0x${v.inferenceId.replaceAll("-", "")}`,
    v.requestHash,
    v.responseHash,
    v.model,
    v.inferenceNode,
    v.outcome,
    v.verdictsDigest,
    v.createdAt,
  ];
}

/**
 * The leaf's hash exactly as `StandardMerkleTree` computes it (and `VerityLedger.leafHash`):
 * keccak256(keccak256(abi.encode(fields))), hashed twice so that no leaf can pass for an
 * inner node.
 *
 * @throws ZodError if `values` is malformed (see `leafTuple`).
 */
export function leafHash(values: LeafValues): Hex {
  return tupleLeafHash(leafTuple(values));
}

/**
 * `leafHash` of a leaf already in `LEAF_TYPES` order, as stored records keep it.
 *
 * The ABI encoding is written out for this one fixed layout rather than run through viem's
 * general `encodeAbiParameters`, which was half the time of building a 100,000-leaf tree. The
 * tests pin it against viem's encoder and the Merkle library on every field's edge cases.
 *
 * @throws Error if a field does not fit its type (as viem's encoder would).
 */
export function tupleLeafHash(tuple: LeafTuple): Hex {
  const [inferenceId, requestHash, responseHash, model, node, outcome, verdictsDigest, createdAt] =
    tuple;
  const text = utf8.encode(model);
  // Eight head words (the string's is the offset of its tail), then the string's length and
  // its bytes, zero-padded to a whole word.
  const encoded = new Uint8Array(
    WORD * (LEAF_FIELDS.length + 1) + Math.ceil(text.length / WORD) * WORD,
  );
  putBytes(encoded, 0, inferenceId, 16, "inferenceId");
  putBytes(encoded, 1, requestHash, 32, "requestHash");
  putBytes(encoded, 2, responseHash, 32, "responseHash");
  putUint(encoded, 3, WORD * LEAF_FIELDS.length, 32);
  putBytes(encoded, 4, node, 20, "inferenceNode", true);
  putUint(encoded, 5, outcome, 8);
  putBytes(encoded, 6, verdictsDigest, 32, "verdictsDigest");
  putUint(encoded, 7, createdAt, 64);
  putUint(encoded, 8, text.length, 32);
  encoded.set(text, WORD * (LEAF_FIELDS.length + 1));
  return keccak256(keccak256(encoded, "bytes"));
}

const WORD = 32;
const utf8 = new TextEncoder();

/** `size` bytes of `hex` into word `word`: left-aligned (bytesN), or right-aligned (address). */
function putBytes(
  out: Uint8Array,
  word: number,
  hex: Hex,
  size: number,
  field: string,
  rightAligned = false,
): void {
  if (hex.length !== 2 + 2 * size || !/^0x[0-9a-fA-F]*$/.test(hex)) {
    throw new Error(`leaf field ${field} is not ${size} bytes of hex: ${hex}`);
  }
  out.set(hexToBytes(hex), word * WORD + (rightAligned ? WORD - size : 0));
}

/** An unsigned integer of `bits` bits, big-endian, right-aligned in word `word`. */
function putUint(out: Uint8Array, word: number, value: number, bits: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || (bits < 53 && value >= 2 ** bits)) {
    throw new Error(`leaf integer ${value} is not a uint${bits}`);
  }
  let rest = value;
  for (let at = word * WORD + WORD - 1; rest > 0; at--) {
    out[at] = rest % 256;
    rest = Math.floor(rest / 256);
  }
}
