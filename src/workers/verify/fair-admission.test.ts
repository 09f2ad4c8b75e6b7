import { describe, expect, it } from "vitest";
import { FairAdmission } from "./fair-admission";

const admitted = (a: ReturnType<FairAdmission["admit"]>) => {
  if (!a.ok) throw new Error("expected a slot");
  return a;
};

describe("FairAdmission", () => {
  it("gives one lane every slot while no other wants any", () => {
    const fair = new FairAdmission(4);
    for (let i = 0; i < 4; i++) expect(fair.admit("heavy", 0).ok).toBe(true);
    expect(fair.admit("heavy", 0)).toEqual({ ok: false, share: 4 });
    expect(fair.judging).toBe(4);
  });

  it("hands the slots a busy lane frees to the lane it turned away, not to the busy lane's next task", () => {
    const fair = new FairAdmission(4);
    const heavy = Array.from({ length: 4 }, () => admitted(fair.admit("heavy", 0)));
    // The light lane finds every slot taken and is remembered as waiting.
    expect(fair.admit("light", 10).ok).toBe(false);
    heavy[0]?.release();
    // Heavy now holds 3 of 4 with two lanes wanting work: over its share of 2.
    expect(fair.admit("heavy", 20)).toEqual({ ok: false, share: 2 });
    const light = admitted(fair.admit("light", 30));
    heavy[1]?.release();
    heavy[2]?.release();
    // Heavy is at 1 of its share of 2; light at 1.
    expect(fair.admit("heavy", 40).ok).toBe(true);
    expect(fair.admit("light", 40).ok).toBe(true);
    light.release();
  });

  it("forgets a refused lane after memoryMs, and a slot released twice counts once", () => {
    const fair = new FairAdmission(2, 1_000);
    const first = admitted(fair.admit("heavy", 0));
    admitted(fair.admit("heavy", 0));
    expect(fair.admit("light", 0).ok).toBe(false);
    first.release();
    first.release();
    expect(fair.judging).toBe(1);
    // Light never came back: after a second heavy has the whole capacity again.
    expect(fair.admit("heavy", 2_000).ok).toBe(true);
    expect(fair.judging).toBe(2);
  });

  it("gives every lane at least one slot, however many want work", () => {
    const fair = new FairAdmission(2);
    expect(fair.admit("a", 0).ok).toBe(true);
    expect(fair.admit("b", 0).ok).toBe(true);
    expect(fair.admit("c", 0)).toEqual({ ok: false, share: 1 });
  });
});
