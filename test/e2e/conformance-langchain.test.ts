// Conformance: LangChain's ChatOpenAI, used as an app uses it, changing only baseURL and apiKey.
// LangChain shows neither headers nor body, but its AIMessage keeps the answer's id, which
// names the inference. Every answer is on record and ends verified (the last test).
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { ChatOpenAI } from "@langchain/openai";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  Answers,
  apiKey,
  baseURL,
  CHAT_MODEL,
  inferenceIdIn,
  SEED,
  WEATHER_QUESTION,
  WEATHER_TOOL,
  Weather,
  weatherReport,
} from "./conformance.ts";

const model = new ChatOpenAI({
  model: CHAT_MODEL,
  apiKey,
  configuration: { baseURL },
  maxTokens: 96,
});
const answers = new Answers();

const getWeather = tool(async ({ city }) => JSON.stringify(weatherReport(city)), {
  ...WEATHER_TOOL,
  schema: z.object({ city: z.string() }),
});

describe("LangChain ChatOpenAI", () => {
  it("withStructuredOutput(zod schema) returns a parsed object valid against the schema", async () => {
    const structured = model.withStructuredOutput(Weather, { name: "weather", includeRaw: true });
    const { raw, parsed } = await structured.invoke("Describe the weather in Paris.");
    expect(Weather.parse(parsed)).toEqual(parsed);
    await answers.add("withStructuredOutput", inferenceIdIn(raw.id));
  });

  const withTools = model.bindTools([getWeather], { seed: SEED });
  const question = new HumanMessage(WEATHER_QUESTION);

  it("bindTools: the AIMessage has tool_calls with parsed args", async () => {
    const call = await withTools.invoke([question]);
    expect(call).toBeInstanceOf(AIMessage);
    expect(call.invalid_tool_calls ?? []).toEqual([]);
    expect(call.tool_calls).toHaveLength(1);
    const [toolCall] = call.tool_calls ?? [];
    expect(toolCall?.name).toBe(WEATHER_TOOL.name);
    expect(toolCall?.id).toBeTruthy();
    expect(z.object({ city: z.string() }).parse(toolCall?.args)).toEqual(toolCall?.args);
    await answers.add("bindTools call", inferenceIdIn(call.id));
  });

  it("bindTools: the tool's ToolMessage sent back gets an answer in words", async () => {
    // The same call again (same seed, same answer), then the agent loop's next step.
    const call = await withTools.invoke([question]);
    const [toolCall] = call.tool_calls ?? [];
    expect(toolCall?.name).toBe(WEATHER_TOOL.name);
    // Invoked with the call, a LangChain tool answers with the ToolMessage that goes back.
    const result = await getWeather.invoke({ ...toolCall, type: "tool_call" } as Parameters<
      typeof getWeather.invoke
    >[0]);
    const answer = await withTools.invoke([question, call, result]);
    expect(answer.tool_calls ?? []).toEqual([]);
    expect(answer.text.trim()).not.toBe("");
    await answers.add("bindTools answer to the tool result", inferenceIdIn(answer.id));
  });

  it("answers over the Responses API with useResponsesApi: true", async () => {
    const responses = new ChatOpenAI({
      model: CHAT_MODEL,
      apiKey,
      configuration: { baseURL },
      maxTokens: 32,
      useResponsesApi: true,
    });
    const answer = await responses.invoke("Tell me about the sea and the ships on it.");
    expect(answer.text.trim()).not.toBe("");
    expect(answer.response_metadata.object).toBe("response");
    await answers.add("useResponsesApi invoke", inferenceIdIn(answer.id));
  });

  it("gets every answer above re-executed and verified by the local verifiers", async () => {
    await answers.expectAllVerified();
  });
});
