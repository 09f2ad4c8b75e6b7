import type { ChosenTokenLogprob } from "@verity/protocol/response";
import { describe, expect, it } from "vitest";
import { collect } from "../../test/backends/byte-stream";
import type { ChatEvent, ChatInput } from "./backend";
import { completeChat, type UpstreamChunk } from "./complete-chat";

const input = (overrides: Partial<ChatInput> = {}): ChatInput => ({
  model: "m",
  messages: [{ role: "user", content: "What is the weather in Paris?" }],
  temperature: 1,
  top_p: 1,
  max_tokens: 64,
  seed: 1,
  stop: [],
  ...overrides,
});

const entry = (token: string, logprob = -0.5): ChosenTokenLogprob => ({
  token,
  logprob,
  top_logprobs: [],
});
/** One chunk per token, each with its logprob entry. */
const tokens = (...texts: string[]): UpstreamChunk[] =>
  texts.map((text) => ({ text, logprobs: [entry(text)] }));

const run = (chunks: UpstreamChunk[], overrides: Partial<ChatInput> = {}) =>
  collect(completeChat(chunks, input(overrides)));
const deltas = (events: ChatEvent[]) => events.filter((e) => e.type === "delta");
const done = (events: ChatEvent[]) => events.find((e) => e.type === "done");

describe("completeChat: tool calls", () => {
  it("passes tool-call pieces on as tool_call events and finishes with tool_calls", async () => {
    const events = await run([
      { toolCalls: [{ index: 0, id: "call_1", name: "get_weather", arguments: "" }] },
      { toolCalls: [{ index: 0, arguments: '{"city":' }] },
      { toolCalls: [{ index: 0, arguments: '"Paris"}' }], finishReason: "tool_calls" },
    ]);
    expect(events).toEqual([
      { type: "tool_call", index: 0, id: "call_1", name: "get_weather", arguments: "" },
      { type: "tool_call", index: 0, arguments: '{"city":' },
      { type: "tool_call", index: 0, arguments: '"Paris"}' },
      expect.objectContaining({ type: "done", finishReason: "tool_calls" }),
    ]);
  });

  it("gives a call the upstream did not name a fresh call_ id, once, and its name once", async () => {
    const events = await run([
      { toolCalls: [{ index: 0, name: "get_weather", arguments: '{"city":' }] },
      { toolCalls: [{ index: 0, name: "get_weather", arguments: '"Paris"}' }] },
      { toolCalls: [{ index: 1, name: "get_time", arguments: "{}" }] },
    ]);
    const calls = events.flatMap((e) => (e.type === "tool_call" ? [e] : []));
    expect(calls[0]).toMatchObject({
      name: "get_weather",
      id: expect.stringMatching(/^call_\w{24}$/),
    });
    expect(calls[1]).toEqual({ type: "tool_call", index: 0, arguments: '"Paris"}' });
    expect(calls[2]).toMatchObject({
      index: 1,
      name: "get_time",
      id: expect.stringMatching(/^call_/),
    });
    expect(calls[2]?.id).not.toBe(calls[0]?.id);
  });

  it("finishes tool_calls when the upstream calls tools but says stop, and length when it says length", async () => {
    const call = { index: 0, id: "c", name: "f", arguments: "{}" };
    expect(done(await run([{ toolCalls: [call], finishReason: "stop" }]))).toMatchObject({
      finishReason: "tool_calls",
    });
    expect(done(await run([{ toolCalls: [call], finishReason: "length" }]))).toMatchObject({
      finishReason: "length",
    });
  });

  it("estimates completion tokens from tool calls as well as text when usage is missing", async () => {
    const events = await run([
      { toolCalls: [{ index: 0, id: "c", name: "abcd", arguments: '{"city":"Paris"}' }] },
    ]);
    // "abcd" + '{"city":"Paris"}' is 20 characters: 5 tokens at four characters a token.
    expect(done(events)).toMatchObject({ usage: { completionTokens: 5 } });
  });

  it("estimates prompt tokens from earlier tool calls and the tool definitions as well as text", async () => {
    const promptTokens = async (overrides: Partial<ChatInput>) => {
      const last = done(await run([{ text: "ok" }], overrides));
      return last?.type === "done" ? last.usage.promptTokens : Number.NaN;
    };
    const call = {
      id: "c",
      type: "function" as const,
      function: { name: "get_weather", arguments: '{"city":"Paris"}' },
    };
    const plain = await promptTokens({});
    const withCall = await promptTokens({
      messages: [...input().messages, { role: "assistant", content: "", tool_calls: [call] }],
    });
    // A second message costs its template overhead (4) plus "get_weather" + the arguments (7).
    expect(withCall).toBe(plain + 4 + 7);
    const tool = { type: "function" as const, function: { name: "get_weather" } };
    expect(await promptTokens({ tools: [tool], tool_choice: "auto" })).toBeGreaterThan(plain);
  });

  it("does not apply stop sequences to tool arguments", async () => {
    const events = await run(
      [{ toolCalls: [{ index: 0, id: "c", name: "f", arguments: '{"a":"\\n\\n"}' }] }],
      { stop: ['"a"'] },
    );
    expect(events[0]).toMatchObject({ arguments: '{"a":"\\n\\n"}' });
    expect(done(events)).toMatchObject({ finishReason: "tool_calls" });
  });
});

describe("completeChat: logprobs", () => {
  it("puts each token's entry on the delta that carries its text", async () => {
    const events = await run(tokens("Paris", " is", " sunny."), { logprobs: true });
    expect(deltas(events)).toEqual([
      { type: "delta", text: "Paris", logprobs: [entry("Paris")] },
      { type: "delta", text: " is", logprobs: [entry(" is")] },
      { type: "delta", text: " sunny.", logprobs: [entry(" sunny.")] },
    ]);
  });

  it("holds entries back with text that might begin a stop sequence, and drops those after it", async () => {
    const events = await run(tokens("Paris", " is", "\n", "\n", "Lyon"), {
      logprobs: true,
      stop: ["\n\n"],
    });
    expect(deltas(events)).toEqual([
      { type: "delta", text: "Paris", logprobs: [entry("Paris")] },
      { type: "delta", text: " is", logprobs: [entry(" is")] },
    ]);
    expect(done(events)).toMatchObject({ finishReason: "stop" });
  });

  it("releases held entries with the text once it turns out not to be a stop sequence", async () => {
    const events = await run(tokens("a", "<", "b"), { logprobs: true, stop: ["<end>"] });
    expect(deltas(events)).toEqual([
      { type: "delta", text: "a", logprobs: [entry("a")] },
      { type: "delta", text: "<b", logprobs: [entry("<"), entry("b")] },
    ]);
  });

  it("drops entries the upstream sent although the request did not ask for them", async () => {
    const events = await run(tokens("Paris"));
    expect(deltas(events)).toEqual([{ type: "delta", text: "Paris" }]);
  });
});
