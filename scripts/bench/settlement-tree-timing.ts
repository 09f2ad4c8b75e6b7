// Times the settlement tree code itself, in Node: building a batch's tree as the settler does and
// serving a proof from its stored nodes as the gateway does. Run by the bench's settlement
// section under tsx (src/ is written for bundlers: its imports have no extensions). Prints JSON.
import { performance } from "node:perf_hooks";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { keccak256 as wasmKeccak256 } from "@verity/protocol/keccak256";
import { LEAF_TYPES_V2, type LeafTuple, tupleLeafHash } from "@verity/protocol/merkle-leaf";
import { buildMerkleTree, proofIndices } from "@verity/protocol/merkle-tree";
import { bytesToHex, type Hex, keccak256, toHex } from "viem";

const leaves = Number(process.argv[2] ?? "100000");
const proofs = 1_000;

// Distinct, well-formed leaves: the hashing cost does not depend on the values.
const tuples: LeafTuple[] = Array.from({ length: leaves }, (_, i) => [
  2,
  bytesToHex(new Uint8Array(16).map((_, b) => (i >> (8 * (b % 4))) & 0xff)),
  keccak256(toHex(`receipt ${i}`)),
  "0x413784cDC116D2723Ab862B6950771Fd0eCCeD3b",
  1,
  keccak256(toHex(`verdicts ${i}`)),
  `0x${"00".repeat(32)}`,
  0,
  0,
  String(i * 1_000),
]);

// Each leaf is hashed once, as its record arrives; the settler builds a batch's tree from the
// stored hashes (src/db/settlement-tree's buildBatchTree is buildMerkleTree of them).
let started = performance.now();
const hashes = tuples.map(tupleLeafHash);
const hashMs = performance.now() - started;
started = performance.now();
const tree = buildMerkleTree(hashes);
const buildMs = performance.now() - started;

// The gateway's readProof: the sibling indices, then one lookup per level among stored nodes.
const picks = Array.from({ length: proofs }, (_, i) => (i * 7_919) % leaves);
started = performance.now();
let depth = 0;
for (const leaf of picks) {
  const treeIndex = tree.treeIndices[leaf] ?? 0;
  const proof: Hex[] = proofIndices(treeIndex).map((index) => tree.nodes[index] as Hex);
  depth = proof.length;
}
const storedProofUs = ((performance.now() - started) * 1000) / proofs;

// The same proofs from the library's own tree object, for comparison.
const library = StandardMerkleTree.load({
  format: "standard-v1",
  leafEncoding: LEAF_TYPES_V2,
  tree: tree.nodes,
  values: tuples.map((value, i) => ({ value, treeIndex: tree.treeIndices[i] ?? 0 })),
});
started = performance.now();
for (const leaf of picks) library.getProof(leaf);
const libraryProofUs = ((performance.now() - started) * 1000) / proofs;

started = performance.now();
const leaf = picks[1] ?? 0;
const ok = StandardMerkleTree.verify(
  tree.root,
  LEAF_TYPES_V2,
  tuples[leaf] ?? [],
  proofIndices(tree.treeIndices[leaf] ?? 0).map((index) => tree.nodes[index] as Hex),
);
const verifyUs = (performance.now() - started) * 1000;

// The protocol's keccak256 (WebAssembly) on a 100 KB prompt, as request hashing meets it.
const prompt = new Uint8Array(100 * 1024).map((_, i) => (i * 31) & 0xff);
wasmKeccak256(prompt, "bytes");
const rounds = 200;
started = performance.now();
for (let i = 0; i < rounds; i++) wasmKeccak256(prompt, "bytes");
const keccakMs = (performance.now() - started) / rounds;
const keccakMBps = prompt.length / 1e6 / (keccakMs / 1000);

console.log(
  JSON.stringify({
    keccakMs,
    keccakMBps,
    leaves,
    nodes: tree.nodes.length,
    hashMs,
    buildMs,
    proofDepth: depth,
    storedProofUs,
    libraryProofUs,
    verifyUs,
    verified: ok,
  }),
);
