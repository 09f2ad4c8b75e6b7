import { SimpleMerkleTree, StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { describe, expect, it } from "vitest";
import {
  LEAF_FIELDS,
  LEAF_FIELDS_V2,
  LEAF_OUTCOME,
  LEAF_TYPES,
  LEAF_TYPES_V2,
  type LeafTuple,
  type LeafValues,
  leafHash,
  leafTuple,
  leafTupleVersion,
  leafTypes,
  tupleLeafHash,
} from "./merkle-leaf";

type LeafV1 = LeafValues & { version: 1 };
type LeafV2 = LeafValues & { version: 2 };

const leaf = (changes: Partial<LeafV1> = {}): LeafV1 => ({
  version: 1,
  inferenceId: "019ab4c2-7d3e-7a10-9b2c-3f4e5d6c7b8a",
  requestHash: "0x1111111111111111111111111111111111111111111111111111111111111111",
  responseHash: "0x2222222222222222222222222222222222222222222222222222222222222222",
  model: "@cf/meta/llama-3.1-8b-instruct",
  inferenceNode: "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
  outcome: LEAF_OUTCOME.verified,
  verdictsDigest: "0x3333333333333333333333333333333333333333333333333333333333333333",
  createdAt: 1767225600000,
  ...changes,
});

const cases: [string, LeafValues][] = [
  ["a verified record", leaf()],
  ["a rejected record", leaf({ outcome: LEAF_OUTCOME.rejected })],
  ["a non-ASCII model name", leaf({ model: "modèle/🚀" })],
  ["the largest safe createdAt", leaf({ createdAt: Number.MAX_SAFE_INTEGER })],
  ["createdAt 0", leaf({ createdAt: 0 })],
  // The model string's tail around whole words: 1, 31, 32 and 33 bytes, and multi-byte UTF-8
  // straddling a word's end.
  ["a one-byte model", leaf({ model: "m" })],
  ["a 31-byte model", leaf({ model: "m".repeat(31) })],
  ["a 32-byte model", leaf({ model: "m".repeat(32) })],
  ["a 33-byte model", leaf({ model: "m".repeat(33) })],
  ["a model whose 4-byte character crosses a word", leaf({ model: `${"m".repeat(30)}🚀` })],
  ["a long model name", leaf({ model: "@hf/long/".repeat(40) })],
  [
    "a lowercase node address",
    leaf({ inferenceNode: "0x0000000000000000000000000000000000000001" }),
  ],
];

describe("LEAF_TYPES", () => {
  it("are the documented field order and Solidity types", () => {
    expect(LEAF_FIELDS.map((f) => `${f.type} ${f.name}`).join(",")).toBe(
      "bytes16 inferenceId,bytes32 requestHash,bytes32 responseHash,string model,address inferenceNode,uint8 outcome,bytes32 verdictsDigest,uint64 createdAt",
    );
    expect(LEAF_TYPES).toEqual(LEAF_FIELDS.map((f) => f.type));
  });
});

describe("leafTuple", () => {
  it("encodes the UUIDv7 id as its 16 bytes and keeps the other fields in order", () => {
    expect(leafTuple(leaf())).toEqual([
      "0x019ab4c27d3e7a109b2c3f4e5d6c7b8a",
      leaf().requestHash,
      leaf().responseHash,
      leaf().model,
      leaf().inferenceNode,
      1,
      leaf().verdictsDigest,
      1767225600000,
    ]);
  });

  it.each([
    ["an outcome other than 1 or 2", { outcome: 3 }],
    ["a UUID that is not v7", { inferenceId: "019ab4c2-7d3e-4a10-9b2c-3f4e5d6c7b8a" }],
    [
      "an address that is not checksummed",
      { inferenceNode: "0xa0ee7a142d267c1f36714e4a8f75612f20a79720" },
    ],
    ["a negative createdAt", { createdAt: -1 }],
    ["an empty model", { model: "" }],
  ])("refuses %s", (_name, changes) => {
    expect(() => leafTuple({ ...leaf(), ...changes } as LeafValues)).toThrow();
  });
});

describe("leafHash", () => {
  it.each(cases)("matches StandardMerkleTree's leaf hash for %s", (_name, values) => {
    const tree = StandardMerkleTree.of([leafTuple(values)], LEAF_TYPES);
    expect(leafHash(values)).toBe(tree.leafHash(leafTuple(values)));
    // A one-leaf tree's root is the leaf hash itself.
    expect(leafHash(values)).toBe(tree.root);
  });

  it("refuses a leaf whose field does not fit its type, as the ABI encoder would", () => {
    const good = leafTuple(leaf());
    const broken: [number, unknown][] = [
      [0, "0x019ab4c27d3e7a109b2c3f4e5d6c7b"],
      [1, `${good[1]}00`],
      [4, "0xa0Ee7A142d267C1f36714E4a8F75612F20a7972"],
      [5, 256],
      [5, -1],
      [6, "0xzz33333333333333333333333333333333333333333333333333333333333333"],
      [7, 1.5],
    ];
    for (const [field, value] of broken) {
      const tuple = [...good] as LeafTuple;
      (tuple as unknown[])[field] = value;
      expect(() => tupleLeafHash(tuple), `field ${field} = ${value}`).toThrow(/leaf/);
    }
  });

  it("is pinned for the documented example, so the encoding cannot drift unnoticed", () => {
    expect(leafHash(leaf())).toBe(
      "0x3717d60e8d26601857de98be2d7586b376675a421de1cef7afd5c1d371fbb782",
    );
  });

  it("gives proofs that verify against a many-leaf tree's root", () => {
    const leaves = Array.from({ length: 37 }, (_, i) =>
      leaf({ createdAt: 1767225600000 + i, outcome: i % 3 ? 1 : 2 }),
    );
    const tree = StandardMerkleTree.of(leaves.map(leafTuple), LEAF_TYPES);
    for (const [i, values] of leaves.entries()) {
      expect(tree.at(i)).toEqual(leafTuple(values));
      expect(tree.leafHash(leafTuple(values))).toBe(leafHash(values));
      expect(
        StandardMerkleTree.verify(tree.root, LEAF_TYPES, leafTuple(values), tree.getProof(i)),
      ).toBe(true);
    }
  });

  it("changes when any single field changes", () => {
    const base = leafHash(leaf());
    const variants: Partial<LeafV1>[] = [
      { inferenceId: "019ab4c2-7d3e-7a10-9b2c-3f4e5d6c7b8b" },
      { requestHash: leaf().responseHash },
      { responseHash: leaf().requestHash },
      { model: "@cf/meta/llama-3.1-8b-instruct " },
      { inferenceNode: "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955" },
      { outcome: LEAF_OUTCOME.rejected },
      { verdictsDigest: leaf().requestHash },
      { createdAt: 1767225600001 },
    ];
    const hashes = variants.map((changes) => leafHash(leaf(changes)));
    expect(new Set([base, ...hashes]).size).toBe(variants.length + 1);
  });

  it("builds the same root and proofs as a SimpleMerkleTree of the leaf hashes", () => {
    // The cheaper way to build a big batch: hash each leaf once with viem, skip the library's
    // own ABI encoder. Settlement may rely on the two agreeing.
    const leaves = Array.from({ length: 25 }, (_, i) => leaf({ createdAt: i }));
    const standard = StandardMerkleTree.of(leaves.map(leafTuple), LEAF_TYPES);
    const simple = SimpleMerkleTree.of(leaves.map(leafHash));
    expect(simple.root).toBe(standard.root);
    for (const values of leaves) {
      expect(simple.getProof(leafHash(values))).toEqual(standard.getProof(leafTuple(values)));
    }
  });

  it("keeps a dumped tree loadable: its values are plain JSON", () => {
    const tree = StandardMerkleTree.of(
      [leafTuple(leaf()), leafTuple(leaf({ outcome: 2 }))],
      LEAF_TYPES,
    );
    const loaded = StandardMerkleTree.load(JSON.parse(JSON.stringify(tree.dump())));
    expect(loaded.root).toBe(tree.root);
  });
});

const leafV2 = (changes: Partial<LeafV2> = {}): LeafV2 => ({
  version: 2,
  inferenceId: "019ab4c2-7d3e-7a10-9b2c-3f4e5d6c7b8a",
  receiptDigest: "0x1111111111111111111111111111111111111111111111111111111111111111",
  inferenceNode: "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
  outcome: LEAF_OUTCOME.verified,
  verdictsDigest: "0x3333333333333333333333333333333333333333333333333333333333333333",
  modelDigest: "0x0000000000000000000000000000000000000000000000000000000000000000",
  strength: "unset",
  strengthScore: 0,
  fee: "0",
  ...changes,
});

describe("version-2 leaves", () => {
  it("are the documented field order and Solidity types, version first", () => {
    expect(LEAF_FIELDS_V2.map((f) => `${f.type} ${f.name}`).join(",")).toBe(
      "uint8 version,bytes16 inferenceId,bytes32 receiptDigest,address inferenceNode,uint8 outcome,bytes32 verdictsDigest,bytes32 modelDigest,uint8 strength,uint16 strengthScore,uint256 fee",
    );
    expect(LEAF_TYPES_V2).toEqual(LEAF_FIELDS_V2.map((f) => f.type));
  });

  it("lay out as a tuple that says its version, and its types follow from it", () => {
    const tuple = leafTuple(leafV2({ fee: "1500000" }));
    expect(tuple).toEqual([
      2,
      "0x019ab4c27d3e7a109b2c3f4e5d6c7b8a",
      leafV2().receiptDigest,
      leafV2().inferenceNode,
      1,
      leafV2().verdictsDigest,
      leafV2().modelDigest,
      0,
      0,
      "1500000",
    ]);
    expect(leafTupleVersion(tuple)).toBe(2);
    expect(leafTypes(tuple)).toBe(LEAF_TYPES_V2);
    expect(leafTupleVersion(leafTuple(leaf()))).toBe(1);
    expect(leafTypes(leafTuple(leaf()))).toBe(LEAF_TYPES);
  });

  it.each([
    ["an unset leaf", leafV2()],
    ["a rejected record", leafV2({ outcome: LEAF_OUTCOME.rejected })],
    ["a fee of one unit", leafV2({ fee: "1" })],
    ["a fee past 2^53", leafV2({ fee: "9007199254740993" })],
    ["the largest uint256 fee", leafV2({ fee: (2n ** 256n - 1n).toString() })],
    ["a pinned model digest", leafV2({ modelDigest: `0x${"ab".repeat(32)}` })],
    ["the largest strength score", leafV2({ strengthScore: 10_000 })],
    [
      "a lowercase node address",
      leafV2({ inferenceNode: "0x0000000000000000000000000000000000000001" }),
    ],
  ])("matches StandardMerkleTree's leaf hash for %s", (_name, values) => {
    const tree = StandardMerkleTree.of([leafTuple(values)], LEAF_TYPES_V2);
    expect(leafHash(values)).toBe(tree.leafHash(leafTuple(values)));
  });

  it.each([
    ["a fee past uint256", { fee: (2n ** 256n).toString() }],
    ["a fee with leading zeros", { fee: "01" }],
    ["a negative fee", { fee: "-1" }],
    ["a score past 10,000 basis points", { strengthScore: 10_001 }],
    ["a strength that is not defined", { strength: "exact" }],
    ["a model digest that is not 32 bytes", { modelDigest: "0x11" }],
  ])("refuses %s", (_name, changes) => {
    expect(() => leafTuple({ ...leafV2(), ...changes } as LeafValues)).toThrow();
  });

  it("is pinned for the documented example, so the encoding cannot drift unnoticed", () => {
    expect(leafHash(leafV2({ fee: "1500000" }))).toBe(V2_PINNED);
  });

  it("changes when any single field changes, and never equals a version-1 leaf's", () => {
    const variants: Partial<LeafV2>[] = [
      { inferenceId: "019ab4c2-7d3e-7a10-9b2c-3f4e5d6c7b8b" },
      { receiptDigest: leafV2().verdictsDigest },
      { inferenceNode: "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955" },
      { outcome: LEAF_OUTCOME.rejected },
      { verdictsDigest: leafV2().receiptDigest },
      { modelDigest: leafV2().receiptDigest },
      { strengthScore: 1 },
      { fee: "1" },
    ];
    const hashes = [leafV2(), ...variants.map((changes) => leafV2(changes))].map(leafHash);
    expect(new Set([...hashes, leafHash(leaf())]).size).toBe(variants.length + 2);
  });

  it("mix with version-1 leaves in one tree of hashes, each proof verifying", () => {
    const leaves: LeafValues[] = Array.from({ length: 9 }, (_, i) =>
      i % 2 ? leaf({ createdAt: i }) : leafV2({ fee: String(i) }),
    );
    const tree = SimpleMerkleTree.of(leaves.map(leafHash));
    for (const values of leaves) {
      const hash = leafHash(values);
      expect(SimpleMerkleTree.verify(tree.root, hash, tree.getProof(hash))).toBe(true);
    }
  });
});

// leafHash(leafV2({ fee: "1500000" })), also in docs/protocol.md.
const V2_PINNED = "0x94049bb3410e114b8c9a575f25101e89ebb9a24fe9b2686e4d1c3549a486a421";
