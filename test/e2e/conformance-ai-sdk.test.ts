// Conformance: the Vercel AI SDK, used as an app uses it, changing only baseURL and apiKey.
// `createOpenAI`'s default model speaks the Responses API; `.chat()` speaks Chat Completions.
// Every answer is receipted, on record, and ends verified (the last test).
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateObject, generateText, isStepCount, streamText, tool } from "ai";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  Answers,
  apiKey,
  baseURL,
  CHAT_MODEL,
  hasVerity,
  INFERENCE_ID_HEADER,
  SEED,
  type VerityBlock,
  verityOf,
  WEATHER_QUESTION,
  WEATHER_TOOL,
  Weather,
  weatherReport,
} from "./conformance.ts";

const openai = createOpenAI({ baseURL, apiKey });
const answers = new Answers();
// AI SDK 7 keeps request and response bodies in results only when asked to.
const include = { requestBody: true, responseBody: true };
const prompt = "Tell me about the sea and the ships on it.";

describe("the Vercel AI SDK", () => {
  it("generateText with the default provider model, over the Responses API", async () => {
    const result = await generateText({
      model: openai(CHAT_MODEL),
      prompt,
      maxOutputTokens: 32,
      include,
    });
    expect(result.text.trim()).not.toBe("");
    expect(["stop", "length"]).toContain(result.finishReason);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    // The default model is the Responses API one: it sent `input`, and got a response object.
    expect(result.request.body).toMatchObject({ model: CHAT_MODEL, input: expect.any(Array) });
    expect(result.response.body).toMatchObject({ object: "response" });
    await answers.add("generateText (responses)", result.response.headers?.[INFERENCE_ID_HEADER], {
      verity: verityOf(result.response.body),
    });
  });

  it("streamText with the default provider model: the deltas make the final text", async () => {
    const result = streamText({
      model: openai(CHAT_MODEL),
      prompt,
      maxOutputTokens: 32,
      includeRawChunks: true,
    });
    let text = "";
    let verity: VerityBlock | undefined;
    for await (const part of result.fullStream) {
      if (part.type === "error") throw part.error;
      if (part.type === "text-delta") text += part.text;
      if (part.type === "raw") {
        const raw = part.rawValue as { response?: unknown } | undefined;
        if (hasVerity(raw)) verity = verityOf(raw);
        else if (hasVerity(raw?.response)) verity = verityOf(raw?.response);
      }
    }
    expect(text.trim()).not.toBe("");
    expect(await result.text).toBe(text);
    const response = await result.response;
    expect(verity, "verity block in a raw stream event").toBeDefined();
    await answers.add("streamText (responses)", response.headers?.[INFERENCE_ID_HEADER], {
      verity,
    });
  });

  it("generateObject with a zod schema, over the Responses API", async () => {
    const result = await generateObject({
      model: openai(CHAT_MODEL),
      schema: Weather,
      prompt: "Describe the weather in Paris.",
      maxOutputTokens: 96,
    });
    expect(Weather.parse(result.object)).toEqual(result.object);
    await answers.add(
      "generateObject (responses)",
      result.response.headers?.[INFERENCE_ID_HEADER],
      {
        verity: verityOf(result.response.body),
      },
    );
  });

  it(".chat() with a tool: generateText calls it, runs it, and answers in a second step", async () => {
    const calledWith: string[] = [];
    const result = await generateText({
      model: openai.chat(CHAT_MODEL),
      prompt: WEATHER_QUESTION,
      tools: {
        [WEATHER_TOOL.name]: tool({
          description: WEATHER_TOOL.description,
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            calledWith.push(city);
            return weatherReport(city);
          },
        }),
      },
      stopWhen: isStepCount(2),
      maxOutputTokens: 48,
      seed: SEED,
      include,
    });
    expect(result.steps).toHaveLength(2);
    const [first, second] = result.steps;
    expect(first?.finishReason).toBe("tool-calls");
    expect(first?.toolCalls.map((call) => call.toolName)).toEqual([WEATHER_TOOL.name]);
    expect(calledWith).toHaveLength(1);
    expect(first?.toolResults[0]?.output).toEqual(weatherReport(calledWith[0] ?? ""));
    expect(second?.toolCalls).toEqual([]);
    expect(result.text.trim()).not.toBe("");
    for (const [i, step] of result.steps.entries()) {
      await answers.add(
        `.chat() tools, step ${i + 1}`,
        step.response.headers?.[INFERENCE_ID_HEADER],
        {
          verity: verityOf(step.response.body),
        },
      );
    }
  });

  it("the default provider model calls a tool, runs it, and answers in a second step", async () => {
    const result = await generateText({
      model: openai(CHAT_MODEL),
      prompt: WEATHER_QUESTION,
      tools: {
        [WEATHER_TOOL.name]: tool({
          description: WEATHER_TOOL.description,
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => weatherReport(city),
        }),
      },
      stopWhen: isStepCount(3),
      maxOutputTokens: 48,
      include,
    });
    // The Responses API takes no seed, so the answer in words may run to its token limit.
    const [call, answer] = result.steps;
    expect(result.steps).toHaveLength(2);
    expect(call?.finishReason).toBe("tool-calls");
    expect(["stop", "length"]).toContain(answer?.finishReason);
    expect(result.text.trim()).not.toBe("");
    for (const [i, step] of result.steps.entries()) {
      await answers.add(
        `responses tools, step ${i + 1}`,
        step.response.headers?.[INFERENCE_ID_HEADER],
        { verity: verityOf(step.response.body) },
      );
    }
  });

  it("a multi-turn conversation over the Responses API, the earlier answer sent back by reference", async () => {
    const first = await generateText({ model: openai(CHAT_MODEL), prompt, maxOutputTokens: 24 });
    const sent: { input?: unknown[] }[] = [];
    const watching = createOpenAI({
      baseURL,
      apiKey,
      fetch: (async (input: string | URL | Request, init?: RequestInit) => {
        sent.push(JSON.parse(String(init?.body)));
        return fetch(input, init);
      }) as typeof fetch,
    });
    const followUp = await generateText({
      model: watching(CHAT_MODEL),
      maxOutputTokens: 24,
      messages: [
        { role: "user", content: prompt },
        ...first.response.messages,
        { role: "user", content: "And the harbours?" },
      ],
      include,
    });
    // The SDK refers to the earlier message item instead of sending its text again.
    expect(sent[0]?.input?.[1]).toEqual({
      type: "item_reference",
      id: `msg_${first.response.id.slice("resp_".length)}`,
    });
    expect(followUp.text.trim()).not.toBe("");
    await answers.add("responses follow-up", followUp.response.headers?.[INFERENCE_ID_HEADER], {
      verity: verityOf(followUp.response.body),
    });
  });

  it("generateText with @ai-sdk/openai-compatible's provider, over Chat Completions", async () => {
    const compatible = createOpenAICompatible({ name: "verity", baseURL, apiKey });
    const result = await generateText({
      model: compatible(CHAT_MODEL),
      prompt,
      maxOutputTokens: 32,
      seed: SEED,
      include,
    });
    expect(result.text.trim()).not.toBe("");
    await answers.add(
      "openai-compatible generateText",
      result.response.headers?.[INFERENCE_ID_HEADER],
      {
        verity: verityOf(result.response.body),
      },
    );
  });

  it("gets every answer above re-executed and verified by the local verifiers", async () => {
    await answers.expectAllVerified();
  });
});
