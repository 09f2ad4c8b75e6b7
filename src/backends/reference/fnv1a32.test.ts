import { describe, expect, it } from "vitest";
import { fnv1a32 } from "./fnv1a32";

function referenceFnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) h = Math.imul(h ^ byte, 0x01000193);
  return h >>> 0;
}

describe("fnv1a32", () => {
  it("matches the published FNV-1a 32-bit test vectors", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });

  it("hashes the UTF-8 bytes of non-ASCII text, encoding lone surrogates as U+FFFD", () => {
    for (const text of ["café", "你好", "👍🏽", "a\ud800b", "\udc00"]) {
      expect(fnv1a32(text)).toBe(referenceFnv1a32(text));
    }
  });

  it("continues from an earlier hash as if the strings were concatenated", () => {
    expect(fnv1a32("bar", fnv1a32("foo"))).toBe(fnv1a32("foobar"));
  });
});
