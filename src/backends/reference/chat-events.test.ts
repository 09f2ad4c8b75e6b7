import { describe, expect, it } from "vitest";
import type { ChatEvent, ChatInput } from "../backend";
import { chatEvents } from "./chat-events";
import { Detokenizer } from "./detokenizer";
import { generateTokens } from "./generate-tokens";
import { referenceLanguageModel } from "./reference-language-model";
import { countMessageTokens } from "./tokenize";

const model = referenceLanguageModel();

const input = (overrides: Partial<ChatInput> = {}): ChatInput => ({
  model: "verity-ngram-1",
  messages: [{ role: "user", content: "Tell me about rivers and mountains" }],
  temperature: 0.9,
  top_p: 0.95,
  max_tokens: 40,
  seed: 11,
  stop: [],
  ...overrides,
});

function collect(request: ChatInput) {
  const events: ChatEvent[] = [...chatEvents(model, request)];
  const deltas = events.flatMap((event) => (event.type === "delta" ? [event.text] : []));
  const done = events[events.length - 1];
  if (done?.type !== "done") throw new Error("no done event");
  expect(events.filter((event) => event.type === "done")).toHaveLength(1);
  return { deltas, content: deltas.join(""), done };
}

describe("chatEvents", () => {
  it("yields one delta per generated token, rendered with spacing, then done with usage", () => {
    const request = input();
    const { deltas, content, done } = collect(request);
    const detokenizer = new Detokenizer();
    const expected = [...generateTokens(model, request)].map((id) =>
      detokenizer.render(model.vocab[id] ?? ""),
    );
    expect(deltas).toEqual(expected);
    expect(content).toBe(expected.join(""));
    expect(done.usage).toEqual({
      promptTokens: countMessageTokens(request.messages),
      completionTokens: deltas.length,
    });
  });

  it("cuts the output before a stop sequence that spans several tokens", () => {
    const full = collect(input({ max_tokens: 40 })).content;
    // Take a stop string that starts inside one token and ends inside a later one.
    const space = full.indexOf(" ", 8);
    const stop = full.slice(space - 2, space + 4);
    expect(stop).toMatch(/\S \S/);
    const cut = collect(input({ max_tokens: 40, stop: ["never-there", stop] }));
    expect(cut.content).toBe(full.slice(0, full.indexOf(stop)));
    expect(cut.done.finishReason).toBe("stop");
    expect(cut.done.usage.completionTokens).toBeLessThan(collect(input()).deltas.length);
  });

  it("holds back text that could start a stop sequence and releases it when it does not", () => {
    const plain = collect(input());
    const firstWord = plain.content.split(" ")[0] ?? "";
    const tricky = collect(input({ stop: [`${firstWord} zzz`] }));
    expect(tricky.content).toBe(plain.content);
    expect(tricky.done).toEqual(plain.done);
    // The first word was held until the next token showed it is not the stop sequence.
    expect(tricky.deltas[0]).toBe(`${plain.deltas[0]}${plain.deltas[1]}`);
  });

  it("stops at the earliest of several stop sequences", () => {
    const full = collect(input()).content;
    const early = full.slice(3, 6);
    const late = full.slice(10, 14);
    const cut = collect(input({ stop: [late, early] }));
    expect(cut.content).toBe(full.slice(0, Math.min(full.indexOf(early), full.indexOf(late))));
    expect(cut.content.length).toBeLessThanOrEqual(3);
  });

  it("stops generating once the signal is aborted", () => {
    const controller = new AbortController();
    const events = chatEvents(model, input(), { signal: controller.signal });
    expect(events.next().value).toMatchObject({ type: "delta" });
    controller.abort(new Error("client went away"));
    expect(() => events.next()).toThrow("client went away");
  });
});
