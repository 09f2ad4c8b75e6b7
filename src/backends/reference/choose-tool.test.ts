import type { FunctionTool } from "@verity/protocol/request";
import { describe, expect, it } from "vitest";
import type { ChatInput } from "../backend";
import { chooseTool } from "./choose-tool";

const tool = (name: string, description?: string): FunctionTool => ({
  type: "function",
  function: { name, ...(description ? { description } : {}) },
});
const weather = tool("get_weather", "Get the current weather for a city");
const stocks = tool("lookupStockPrice", "Find the latest price of a share");

const input = (content: string, overrides: Partial<ChatInput> = {}): ChatInput => ({
  model: "verity-ngram-1",
  messages: [{ role: "user", content }],
  temperature: 1,
  top_p: 1,
  max_tokens: 32,
  seed: 1,
  stop: [],
  tools: [weather, stocks],
  tool_choice: "auto",
  ...overrides,
});

describe("chooseTool", () => {
  it("calls, under auto, the tool that shares the most words with the last user message", () => {
    expect(chooseTool(input("What's the weather in Paris?"))).toBe(weather);
    expect(chooseTool(input("What is the stock price of ACME?"))).toBe(stocks);
  });

  it("splits camelCase and snake_case names and matches plurals", () => {
    expect(chooseTool(input("share prices today", { tools: [weather, stocks] }))).toBe(stocks);
    expect(chooseTool(input("any stocks?", { tools: [tool("stock")] }))?.function.name).toBe(
      "stock",
    );
  });

  it("answers in words under auto when nothing matches or a tool result came last", () => {
    expect(chooseTool(input("Tell me a story about dragons"))).toBeUndefined();
    const afterResult = input("weather in Paris?", {
      messages: [
        { role: "user", content: "weather in Paris?" },
        {
          role: "assistant",
          content: "",
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "get_weather", arguments: "{}" } },
          ],
        },
        { role: "tool", content: "18C and sunny", tool_call_id: "call_1" },
      ],
    });
    expect(chooseTool(afterResult)).toBeUndefined();
  });

  it("always calls under required (the first tool when none matches) and never under none", () => {
    expect(chooseTool(input("dragons", { tool_choice: "required" }))).toBe(weather);
    expect(chooseTool(input("stock price", { tool_choice: "required" }))).toBe(stocks);
    expect(chooseTool(input("weather", { tool_choice: "none" }))).toBeUndefined();
  });

  it("calls a named function whatever the message says", () => {
    const named = { type: "function" as const, function: { name: "lookupStockPrice" } };
    expect(chooseTool(input("weather in Paris", { tool_choice: named }))).toBe(stocks);
  });
});
