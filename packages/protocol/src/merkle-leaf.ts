import { type Address, type Hex, hexToBytes } from "viem";
import { z } from "zod";
import { JsonString } from "./canonical";
import { InferenceId } from "./inference-id";
import { keccak256 } from "./keccak256";
import { Bytes32, ChecksumAddress, Uint256String } from "./receipt";
import { STRENGTH_CODES, StrengthScore, VerificationStrength } from "./verification-strength";

/** The fields of a version-1 settlement leaf, in encoding order: changing it changes every hash. */
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

/**
 * The fields of a version-2 leaf, in encoding order. The version comes first, so that no leaf of
 * one version can be read as the other. The receipt enters by its digest, which commits to the
 * request, response, model, node and time; the node, model digest, strength and fee are also
 * spelled out, so that a contract paying for settled work can read them from a leaf and its
 * proof. The ledger itself checks inclusion by leaf hash only, so a later layout needs no new
 * contract.
 */
export const LEAF_FIELDS_V2 = [
  { name: "version", type: "uint8" },
  { name: "inferenceId", type: "bytes16" },
  { name: "receiptDigest", type: "bytes32" },
  { name: "inferenceNode", type: "address" },
  { name: "outcome", type: "uint8" },
  { name: "verdictsDigest", type: "bytes32" },
  { name: "modelDigest", type: "bytes32" },
  { name: "strength", type: "uint8" },
  { name: "strengthScore", type: "uint16" },
  { name: "fee", type: "uint256" },
] as const;

/** The version-1 leaf encoding as `StandardMerkleTree.of(values, LEAF_TYPES)` takes it. */
export const LEAF_TYPES: string[] = LEAF_FIELDS.map((field) => field.type);
/** The version-2 leaf encoding. */
export const LEAF_TYPES_V2: string[] = LEAF_FIELDS_V2.map((field) => field.type);

/** A leaf's `outcome`: what the verifiers concluded about the inference. */
export const LEAF_OUTCOME = { verified: 1, rejected: 2 } as const;

/** One settled record of version 1: an inference and the verifiers' verdict on it. */
export const LeafValuesV1 = z.strictObject({
  version: z.literal(1),
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

/** One settled record of version 2 (see `LEAF_FIELDS_V2`). */
export const LeafValuesV2 = z.strictObject({
  version: z.literal(2),
  inferenceId: InferenceId,
  receiptDigest: Bytes32,
  inferenceNode: ChecksumAddress,
  outcome: z.union([z.literal(LEAF_OUTCOME.verified), z.literal(LEAF_OUTCOME.rejected)]),
  verdictsDigest: Bytes32,
  modelDigest: Bytes32,
  strength: VerificationStrength,
  strengthScore: StrengthScore,
  fee: Uint256String,
});

export const LeafValues = z.discriminatedUnion("version", [LeafValuesV1, LeafValuesV2]);
export type LeafValues = z.infer<typeof LeafValues>;

/**
 * A leaf as `StandardMerkleTree` holds it, in `LEAF_TYPES` order. Plain JSON values only
 * (`createdAt` is a number, not a bigint), so a tree's `dump()` survives `JSON.stringify`.
 */
export type LeafTupleV1 = [
  inferenceId: Hex,
  requestHash: Hex,
  responseHash: Hex,
  model: string,
  inferenceNode: Address,
  outcome: number,
  verdictsDigest: Hex,
  createdAt: number,
];

/** A version-2 leaf in `LEAF_TYPES_V2` order; the fee is a decimal string (a uint256). */
export type LeafTupleV2 = [
  version: 2,
  inferenceId: Hex,
  receiptDigest: Hex,
  inferenceNode: Address,
  outcome: number,
  verdictsDigest: Hex,
  modelDigest: Hex,
  strength: number,
  strengthScore: number,
  fee: string,
];

export type LeafTuple = LeafTupleV1 | LeafTupleV2;

/** A tuple's leaf version: a version-2 tuple starts with its version, a version-1 with an id. */
export const leafTupleVersion = (tuple: LeafTuple): 1 | 2 => (tuple[0] === 2 ? 2 : 1);

/** The ABI types of a stored leaf tuple, as `StandardMerkleTree` takes them. */
export const leafTypes = (tuple: LeafTuple): string[] =>
  leafTupleVersion(tuple) === 2 ? LEAF_TYPES_V2 : LEAF_TYPES;

/**
 * The tuple for `StandardMerkleTree.of(tuples, leafTypes(tuple))`. The inference id becomes
 * its 16 UUID bytes; a strength becomes its code.
 *
 * @throws ZodError if `values` is malformed: the caller builds leaves from stored, already
 * validated records, so this is a bug.
 */
export function leafTuple(values: LeafValues): LeafTuple {
  const v = LeafValues.parse(values);
  const id: Hex = `0x${v.inferenceId.replaceAll("-", "")}`;
  if (v.version === 2) {
    return [
      2,
      id,
      v.receiptDigest,
      v.inferenceNode,
      v.outcome,
      v.verdictsDigest,
      v.modelDigest,
      STRENGTH_CODES[v.strength],
      v.strengthScore,
      v.fee,
    ];
  }
  return [
    id,
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
 * The leaf's hash exactly as `StandardMerkleTree` computes it with `leafTypes` of its tuple:
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
  return tuple[0] === 2
    ? tupleLeafHashV2(tuple as LeafTupleV2)
    : tupleLeafHashV1(tuple as LeafTupleV1);
}

function tupleLeafHashV1(tuple: LeafTupleV1): Hex {
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

// Every version-2 field is one static word: no offsets, no tail.
function tupleLeafHashV2(tuple: LeafTupleV2): Hex {
  const [version, id, receipt, node, outcome, verdicts, model, strength, score, fee] = tuple;
  const encoded = new Uint8Array(WORD * LEAF_FIELDS_V2.length);
  putUint(encoded, 0, version, 8);
  putBytes(encoded, 1, id, 16, "inferenceId");
  putBytes(encoded, 2, receipt, 32, "receiptDigest");
  putBytes(encoded, 3, node, 20, "inferenceNode", true);
  putUint(encoded, 4, outcome, 8);
  putBytes(encoded, 5, verdicts, 32, "verdictsDigest");
  putBytes(encoded, 6, model, 32, "modelDigest");
  putUint(encoded, 7, strength, 8);
  putUint(encoded, 8, score, 16);
  putBigUint(encoded, 9, fee);
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

/** A uint256 given as a decimal string, big-endian in word `word`. */
function putBigUint(out: Uint8Array, word: number, decimal: string): void {
  if (!/^[0-9]+$/.test(decimal) || BigInt(decimal) >= 2n ** 256n) {
    throw new Error(`leaf integer ${decimal} is not a uint256`);
  }
  let rest = BigInt(decimal);
  for (let at = word * WORD + WORD - 1; rest > 0n; at--) {
    out[at] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}
