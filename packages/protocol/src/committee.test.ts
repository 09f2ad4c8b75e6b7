import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { committeeScore, rankVerifiers } from "./committee";

const addresses = [
  "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
  "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
].map((address) => ({ address }));

describe("rankVerifiers", () => {
  it("is a pure function of the inference id and the candidate set, not their order", () => {
    const id = "0193a6f0-0000-7000-8000-000000000001";
    const ranked = rankVerifiers(id, addresses);
    expect(rankVerifiers(id, [...addresses].reverse())).toEqual(ranked);
    expect(ranked).toHaveLength(4);
    const scores = ranked.map((c) => committeeScore(id, c.address as `0x${string}`));
    expect([...scores].sort()).toEqual(scores);
  });

  it("spreads committees across inferences", () => {
    const firsts = new Set(
      Array.from({ length: 40 }, (_, i) => rankVerifiers(`inference-${i}`, addresses)[0]?.address),
    );
    expect(firsts.size).toBeGreaterThan(2);
  });

  it("treats address case alike", () => {
    const account = privateKeyToAccount(`0x${"11".repeat(32)}`);
    expect(committeeScore("x", account.address)).toBe(
      committeeScore("x", account.address.toLowerCase() as `0x${string}`),
    );
  });
});
