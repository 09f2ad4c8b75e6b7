import type { ChatMessage } from "@verity/protocol/request";
import { describe, expect, it } from "vitest";
import { SENTENCE_END_TOKENS } from "./corpus";
import {
  type GenerationRequest,
  generateTokens,
  MIN_REPLY_TOKENS,
  MIN_SENTENCE_WORDS,
} from "./generate-tokens";
import { referenceLanguageModel } from "./reference-language-model";

const model = referenceLanguageModel();

function run(content: string, options: Partial<GenerationRequest> = {}) {
  const messages: ChatMessage[] = [{ role: "user", content }];
  const generator = generateTokens(model, {
    messages,
    temperature: 0.8,
    top_p: 1,
    max_tokens: 64,
    seed: 7,
    ...options,
  });
  const tokens: string[] = [];
  for (;;) {
    const step = generator.next();
    if (step.done) return { tokens, finishReason: step.value };
    tokens.push(model.vocab[step.value] ?? "");
  }
}

const isEnd = (token: string) => SENTENCE_END_TOKENS.includes(token);

describe("generateTokens", () => {
  it("starts the reply with a keyword of the last user message", () => {
    const { tokens } = run("Tell me about volcanoes and lava", { temperature: 0 });
    expect(["volcanoes", "lava"]).toContain(tokens[0]);
    const sampled = run("Tell me about volcanoes and lava", { seed: 3 });
    expect(["volcanoes", "lava"]).toContain(sampled.tokens[0]);
  });

  it("conditions on the last user message, not on earlier ones", () => {
    const generator = generateTokens(model, {
      messages: [
        { role: "system", content: "You are helpful." },
        { role: "user", content: "bread" },
        { role: "assistant", content: "Bread is baked." },
        { role: "user", content: "guitar" },
      ],
      temperature: 0,
      top_p: 1,
      max_tokens: 1,
      seed: 1,
    });
    expect(model.vocab[generator.next().value as number]).toBe("guitar");
  });

  it("ends with stop at the first sentence end once the reply is long enough", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { tokens, finishReason } = run("the history of music", { seed, max_tokens: 500 });
      expect(finishReason).toBe("stop");
      expect(isEnd(tokens[tokens.length - 1] ?? "")).toBe(true);
      expect(tokens.length).toBeGreaterThanOrEqual(MIN_REPLY_TOKENS);
      const earlierEnds = tokens.slice(MIN_REPLY_TOKENS - 1, -1).filter(isEnd);
      expect(earlierEnds).toEqual([]);
    }
  });

  it("never ends a sentence before it has a few words", () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const { tokens } = run("cats dogs birds", { seed, max_tokens: 200 });
      let words = 0;
      for (const token of tokens) {
        if (isEnd(token)) {
          expect(words).toBeGreaterThanOrEqual(MIN_SENTENCE_WORDS);
          words = 0;
        } else words++;
      }
    }
  });

  it("stops with length after max_tokens tokens", () => {
    const { tokens, finishReason } = run("the history of music", { max_tokens: 5 });
    expect(tokens).toHaveLength(5);
    expect(finishReason).toBe("length");
  });

  it("does not repeat a trigram within a reply", () => {
    for (const content of ["a member of the family", "plants", "hello"]) {
      const { tokens } = run(content, { temperature: 0, max_tokens: 15 });
      // Trigrams that cross a sentence end are not in the model's history (it restarts at <s>).
      const trigrams = tokens
        .slice(2)
        .map((token, i) => [tokens[i] ?? "", tokens[i + 1] ?? "", token])
        .filter((trigram) => !trigram.slice(0, 2).some(isEnd))
        .map((trigram) => trigram.join(" "));
      expect(new Set(trigrams).size).toBe(trigrams.length);
    }
  });
});
