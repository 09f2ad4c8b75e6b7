import { type Address, encodeAbiParameters, type Hex } from "viem";
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

/** `leafHash` of a leaf already in `LEAF_TYPES` order, as stored records keep it. */
export function tupleLeafHash(tuple: LeafTuple): Hex {
  const [inferenceId, requestHash, responseHash, model, node, outcome, verdictsDigest, createdAt] =
    tuple;
  const encoded = encodeAbiParameters(LEAF_FIELDS, [
    inferenceId,
    requestHash,
    responseHash,
    model,
    node,
    outcome,
    verdictsDigest,
    BigInt(createdAt),
  ]);
  return keccak256(keccak256(encoded));
}
