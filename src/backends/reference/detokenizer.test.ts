import { describe, expect, it } from "vitest";
import { Detokenizer } from "./detokenizer";

const render = (tokens: string[]) => {
  const detokenizer = new Detokenizer();
  return tokens.map((token) => detokenizer.render(token));
};

describe("Detokenizer", () => {
  it("separates words by spaces but puts no space before punctuation", () => {
    expect(render(["a", "cat", ",", "a", "dog", ":", "pets", "."]).join("")).toBe(
      "A cat, a dog: pets.",
    );
  });

  it("capitalises each sentence start and leaves the rest as generated", () => {
    expect(render(["it", "rained", "in", "Paris", ".", "then", "the", "sun", "!", "3d"])).toEqual([
      "It",
      " rained",
      " in",
      " Paris",
      ".",
      " Then",
      " the",
      " sun",
      "!",
      " 3d",
    ]);
  });

  it("puts no space inside brackets, after a currency sign or around a slash", () => {
    expect(
      render(["costs", "$", "5", "(", "about", "5", "%", ")", "and", "/", "or"]).join(""),
    ).toBe("Costs $5 (about 5%) and/or");
  });
});
