import { describe, expect, it } from "vitest";
import { chooseNonce } from "./choose-nonce";

const none = new Map<number, number>();

describe("chooseNonce", () => {
  it("takes the node's next nonce for a batch's first transaction", () => {
    expect(chooseNonce({ batch: 1, previous: null, latest: 4, pending: 4, held: none })).toBe(4);
    expect(chooseNonce({ batch: 1, previous: null, latest: 4, pending: 6, held: none })).toBe(6);
  });

  it("re-sends a batch with its own nonce while the chain has not used it", () => {
    // Dropped: the node forgot it, so pending fell back below it.
    expect(
      chooseNonce({ batch: 1, previous: 4, latest: 4, pending: 4, held: new Map([[4, 1]]) }),
    ).toBe(4);
    // Removed by a reorg: latest went back down to it.
    expect(chooseNonce({ batch: 1, previous: 4, latest: 4, pending: 5, held: none })).toBe(4);
  });

  it("takes a new nonce once the chain used the old one", () => {
    expect(chooseNonce({ batch: 1, previous: 4, latest: 5, pending: 5, held: none })).toBe(5);
  });

  it("never takes a nonce another in-flight batch holds, even where the node shows a gap", () => {
    // Batch 2's transaction (nonce 4) was dropped and batch 3's (nonce 5) waits behind it.
    const held = new Map([
      [4, 2],
      [5, 3],
    ]);
    expect(chooseNonce({ batch: 7, previous: null, latest: 4, pending: 4, held })).toBe(6);
    expect(chooseNonce({ batch: 2, previous: 4, latest: 4, pending: 4, held })).toBe(4);
    // Batch 7 once had nonce 5, but batch 3 holds it now: 7 moves on.
    expect(chooseNonce({ batch: 7, previous: 5, latest: 4, pending: 4, held })).toBe(6);
  });
});
