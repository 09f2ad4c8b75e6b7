import { describe, expect, it } from "vitest";
import { MinuteCounter } from "./minute-counter";

describe("MinuteCounter", () => {
  it("allows `limit` requests per key in a minute, then says when the next minute starts", () => {
    const counter = new MinuteCounter(2);
    const t = 120_000 + 15_000;
    expect(counter.take("a", t)).toEqual({ allowed: true });
    expect(counter.take("a", t)).toEqual({ allowed: true });
    expect(counter.take("a", t)).toEqual({ allowed: false, retryAfterSeconds: 45 });
    expect(counter.take("b", t)).toEqual({ allowed: true });
    expect(counter.take("a", 180_000)).toEqual({ allowed: true });
  });

  it("bounds its memory: past maxKeys, new keys wait for the next minute and known keys go on", () => {
    const counter = new MinuteCounter(5, 2);
    expect(counter.take("a", 0).allowed).toBe(true);
    expect(counter.take("b", 0).allowed).toBe(true);
    expect(counter.take("c", 0).allowed).toBe(false);
    expect(counter.take("a", 0).allowed).toBe(true);
    expect(counter.take("c", 60_000).allowed).toBe(true);
  });
});
