import { describe, expect, it } from "vitest";
import {
  KEYWORD_BONUS,
  keywordBonuses,
  promptKeywords,
  RELATED_BONUS,
  RELATED_PER_KEYWORD,
} from "./prompt-keywords";
import { referenceLanguageModel } from "./reference-language-model";

const model = referenceLanguageModel();
const words = (ids: number[]) => ids.map((id) => model.vocab[id]);

describe("promptKeywords", () => {
  it("keeps the known content words of the prompt, in order, without asking words", () => {
    const keywords = promptKeywords(model, [
      { role: "user", content: "Please tell me about Volcanoes and the LAVA, volcanoes xyzzyq!" },
    ]);
    expect(words(keywords)).toEqual(["volcanoes", "lava"]);
  });

  it("reads the last user message, or the last message when no user spoke", () => {
    const conversation = [
      { role: "user" as const, content: "bread" },
      { role: "assistant" as const, content: "guitar" },
    ];
    expect(words(promptKeywords(model, conversation))).toEqual(["bread"]);
    expect(words(promptKeywords(model, [{ role: "system", content: "guitar" }]))).toEqual([
      "guitar",
    ]);
  });
});

describe("keywordBonuses", () => {
  it("favours the keywords and a few words that follow them in the corpus", () => {
    const keywords = promptKeywords(model, [{ role: "user", content: "ocean" }]);
    const bonus = keywordBonuses(model, keywords);
    expect(bonus.get(keywords[0] ?? -1)).toBe(KEYWORD_BONUS);
    const related = [...bonus].filter(([, value]) => value === RELATED_BONUS);
    expect(related.length).toBeGreaterThan(0);
    expect(related.length).toBeLessThanOrEqual(RELATED_PER_KEYWORD);
    for (const [id] of related) expect(model.vocab[id]).toMatch(/^[A-Za-z]/);
  });
});
