import { bytesToHex, type Hex, hexToBytes } from "viem";
import { keccak256 } from "./keccak256";

/** A Merkle tree as `@openzeppelin/merkle-tree` lays it out, flattened for storage. */
export interface MerkleTree {
  root: Hex;
  /** `SimpleMerkleTree.dump().tree`: the root at 0, node `i`'s children at `2i+1` and `2i+2`. */
  nodes: Hex[];
  /** `treeIndices[i]` is the node index of `leafHashes[i]`. */
  treeIndices: number[];
}

/**
 * `SimpleMerkleTree.of(leafHashes)` (default options: leaves sorted by hash, each inner node
 * the keccak256 of its two children in ascending order), node for node. The library converts
 * every node between hex and bytes several times over, which made a 100,000-leaf tree take half
 * a minute; this hashes bytes in one buffer. The tests pin it against the library.
 *
 * @throws Error if there are no leaves or a leaf is not 32 bytes, as the library does.
 */
export function buildMerkleTree(leafHashes: readonly Hex[]): MerkleTree {
  const count = leafHashes.length;
  if (count === 0) throw new Error("a Merkle tree needs at least one leaf");
  // Lowercase hex of one length sorts as its bytes do.
  const order = leafHashes.map((hash, index) => {
    if (!/^0x[0-9a-fA-F]{64}$/.test(hash)) throw new Error(`not a 32-byte leaf hash: ${hash}`);
    return { hash: hash.toLowerCase() as Hex, index };
  });
  order.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));

  const size = 2 * count - 1;
  const buffer = new Uint8Array(size * 32);
  const treeIndices = new Array<number>(count);
  for (const [position, { hash, index }] of order.entries()) {
    const node = size - 1 - position;
    buffer.set(hexToBytes(hash), node * 32);
    treeIndices[index] = node;
  }
  const pair = new Uint8Array(64);
  for (let node = size - 1 - count; node >= 0; node--) {
    const left = buffer.subarray((2 * node + 1) * 32, (2 * node + 2) * 32);
    const right = buffer.subarray((2 * node + 2) * 32, (2 * node + 3) * 32);
    const leftFirst = compareBytes(left, right) <= 0;
    pair.set(leftFirst ? left : right, 0);
    pair.set(leftFirst ? right : left, 32);
    buffer.set(keccak256(pair, "bytes"), node * 32);
  }

  const nodes = new Array<Hex>(size);
  for (let node = 0; node < size; node++) {
    nodes[node] = bytesToHex(buffer.subarray(node * 32, node * 32 + 32));
  }
  return { root: nodes[0] as Hex, nodes, treeIndices };
}

/**
 * The node indices of the proof of the leaf at `treeIndex`, leaf to root: the sibling of each
 * node on the path (`i` odd: `i+1`, even: `i-1`), then its parent `(i-1) >> 1`.
 */
export function proofIndices(treeIndex: number): number[] {
  const indices: number[] = [];
  for (let i = treeIndex; i > 0; i = (i - 1) >> 1) indices.push(i % 2 === 1 ? i + 1 : i - 1);
  return indices;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const diff = (a[i] as number) - (b[i] as number);
    if (diff !== 0) return diff;
  }
  return 0;
}
