import type { ChosenTokenLogprob } from "@verity/protocol/response";
import { describe, expect, it } from "vitest";
import type { ChatEvent, ChatInput } from "../backend";
import { chatEvents } from "./chat-events";
import { SENTENCE_END_TOKENS } from "./corpus";
import { generateTokens } from "./generate-tokens";
import { SENTENCE_START } from "./ngram-model";
import { BACKOFF_COST, COST_PER_NAT } from "./ngram-sampler";
import { referenceLanguageModel } from "./reference-language-model";

const model = referenceLanguageModel();

const input = (overrides: Partial<ChatInput> = {}): ChatInput => ({
  model: "verity-ngram-1",
  messages: [{ role: "user", content: "Tell me about rivers and mountains" }],
  temperature: 0.9,
  top_p: 1,
  max_tokens: 40,
  seed: 11,
  stop: [],
  ...overrides,
});

const tokensOf = (request: ChatInput) =>
  [...generateTokens(model, request)].map((id) => model.vocab[id] ?? "");

function logprobsOf(request: ChatInput, choice = 0): ChosenTokenLogprob[] {
  const events: ChatEvent[] = [...chatEvents(model, request, { choice })];
  return events.flatMap((event) => (event.type === "delta" ? (event.logprobs ?? []) : []));
}

describe("NgramSampler", () => {
  it("reports the first token's logprobs exactly as recomputed from the bigram table", () => {
    // No word the model knows, so no keyword opens the reply: the first token is a plain
    // continuation of <s>, scored from the bigram table at + BACKOFF_COST.
    const request = input({
      messages: [{ role: "user", content: "zzqxv" }],
      temperature: 0,
      logprobs: true,
      top_logprobs: 5,
    });
    const [first] = logprobsOf(request);

    const start = model.bigramStart[SENTENCE_START] ?? 0;
    const end = model.bigramStart[SENTENCE_START + 1] ?? 0;
    const candidates: { id: number; cost: number }[] = [];
    for (let e = start; e < end; e++) {
      const id = model.bigramNext[e] ?? 0;
      // A sentence cannot end before its third word.
      if (SENTENCE_END_TOKENS.includes(model.vocab[id] ?? "")) continue;
      candidates.push({ id, cost: (model.bigramCost[e] ?? 0) + BACKOFF_COST });
    }
    const weights = candidates.map((c) => 2 ** (-c.cost / 16));
    const total = weights.reduce((a, b) => a + b, 0);
    const expected = candidates
      .map((c, i) => ({ id: c.id, logprob: Math.log((weights[i] ?? 0) / total) }))
      .sort((a, b) => b.logprob - a.logprob || a.id - b.id)
      .slice(0, 5);

    const capital = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
    expect(first?.top_logprobs.map((t) => t.token)).toEqual(
      expected.map((e) => capital(model.vocab[e.id] ?? "")),
    );
    first?.top_logprobs.forEach((top, i) => {
      expect(top.logprob).toBeCloseTo(expected[i]?.logprob ?? 0, 10);
    });
    // Greedy takes the likeliest, and reports its probability under the model.
    expect(first?.token).toBe(first?.top_logprobs[0]?.token);
    expect(first?.logprob).toBe(first?.top_logprobs[0]?.logprob);
  });

  it("gives every token a logprob of at most 0, and tokens that join to the text", () => {
    const request = input({ logprobs: true, top_logprobs: 3 });
    const events = [...chatEvents(model, request)];
    const text = events.map((e) => (e.type === "delta" ? e.text : "")).join("");
    const entries = logprobsOf(request);
    expect(entries.map((e) => e.token).join("")).toBe(text);
    for (const entry of entries) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.top_logprobs.length).toBeLessThanOrEqual(3);
      const sorted = [...entry.top_logprobs].sort((a, b) => b.logprob - a.logprob);
      expect(entry.top_logprobs).toEqual(sorted);
    }
  });

  it("leaves the answer unchanged when logprobs are asked for", () => {
    const plain = [...chatEvents(model, input())].map((e) => (e.type === "delta" ? e.text : ""));
    const scored = [...chatEvents(model, input({ logprobs: true }))].map((e) =>
      e.type === "delta" ? e.text : "",
    );
    expect(scored).toEqual(plain);
  });

  it("bans a token with a logit_bias of -100", () => {
    const greedy = input({ temperature: 0, max_tokens: 60 });
    const before = tokensOf(greedy);
    const word = before.find((t) => /^[a-z]{4,}$/.test(t) && t !== before[0]) ?? "";
    const id = model.vocab.indexOf(word);
    expect(id).toBeGreaterThan(0);
    const after = tokensOf({ ...greedy, logit_bias: { [id]: -100 } });
    expect(after).not.toContain(word);
    expect(after).not.toEqual(before);
  });

  it("forces a token with a logit_bias of 100, even one the context never continues with", () => {
    const id = model.vocab.indexOf("volcano");
    expect(id).toBeGreaterThan(0);
    const tokens = tokensOf(input({ temperature: 0, max_tokens: 8, logit_bias: { [id]: 100 } }));
    // The first token opens a sentence with a keyword; every continuation is the biased word,
    // except where it would repeat a trigram.
    expect(tokens.filter((t) => t === "volcano").length).toBeGreaterThanOrEqual(3);
  });

  it("repeats words less with a frequency penalty, and by the documented cost", () => {
    const long = input({ temperature: 0, max_tokens: 200, seed: 3 });
    const repeats = (tokens: string[]) => tokens.length - new Set(tokens).size;
    const plain = tokensOf(long);
    const penalised = tokensOf({ ...long, frequency_penalty: 2, presence_penalty: 1 });
    expect(repeats(penalised)).toBeLessThan(repeats(plain));
    // One nat is 16 / ln 2 cost units of 1/16 bit.
    expect(COST_PER_NAT).toBeCloseTo(16 / Math.LN2, 12);
  });

  it("makes each of n choices reproducible from the seed and its index, choice 0 as before", () => {
    const request = input({ n: 3 });
    const texts = (choice: number) =>
      [...chatEvents(model, request, { choice })]
        .map((e) => (e.type === "delta" ? e.text : ""))
        .join("");
    const single = [...chatEvents(model, input())].map((e) => (e.type === "delta" ? e.text : ""));
    expect(texts(0)).toBe(single.join(""));
    expect(new Set([texts(0), texts(1), texts(2)]).size).toBe(3);
    expect(texts(2)).toBe(texts(2));
  });
});
