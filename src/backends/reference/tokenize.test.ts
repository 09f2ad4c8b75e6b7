import { describe, expect, it } from "vitest";
import { asciiLowerCase, countMessageTokens, countTokens, isWordToken, tokenize } from "./tokenize";

describe("tokenize", () => {
  it("splits words from each punctuation mark", () => {
    expect(tokenize("Hello, world! (It's 3.14.)")).toEqual([
      "Hello",
      ",",
      "world",
      "!",
      "(",
      "It's",
      "3",
      ".",
      "14",
      ".",
      ")",
    ]);
  });

  it("keeps apostrophes and hyphens inside words but not at their edges", () => {
    expect(tokenize("don't self-made 'quoted' well- -known")).toEqual([
      "don't",
      "self-made",
      "'",
      "quoted",
      "'",
      "well",
      "-",
      "-",
      "known",
    ]);
  });

  it("treats accented Latin, Greek and Cyrillic letters as word characters", () => {
    expect(tokenize("café naïve Ελλάδα привет")).toEqual(["café", "naïve", "Ελλάδα", "привет"]);
  });

  it("counts CJK and other scripts one code point per token, astral characters included", () => {
    expect(tokenize("你好世界")).toEqual(["你", "好", "世", "界"]);
    expect(tokenize("ok 👍🏽")).toEqual(["ok", "👍", "🏽"]);
  });

  it("splits on the fixed whitespace set, including no-break and ideographic spaces", () => {
    expect(tokenize("a\u00a0b\u3000c\td\u2028e")).toEqual(["a", "b", "c", "d", "e"]);
    expect(tokenize("   \n\t ")).toEqual([]);
  });

  it("counts exactly the tokens tokenize returns", () => {
    for (const text of ["", "one", "Hello, world!", "你好 world", "a - b -- c..."]) {
      expect(countTokens(text)).toBe(tokenize(text).length);
    }
  });

  it("tells words from punctuation", () => {
    expect(["word", "3", "é"].map(isWordToken)).toEqual([true, true, true]);
    expect([".", ",", "你", "-"].map(isWordToken)).toEqual([false, false, false, false]);
  });

  it("counts one role marker per message plus its content tokens", () => {
    expect(
      countMessageTokens([
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi there!" },
        { role: "assistant", content: "" },
      ]),
    ).toBe(3 + 3 + 3 + 0);
  });

  it("lower-cases only ASCII letters", () => {
    expect(asciiLowerCase("ÉCOLE Paris")).toBe("École paris");
    expect(asciiLowerCase("already lower")).toBe("already lower");
  });
});
