// Conformance: the official `openai` client, used as an app uses it, changing only baseURL and
// apiKey. Every answer is receipted, on record, and ends verified (the last test).
import Ajv from "ajv";
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { describe, expect, it } from "vitest";
import {
  Answers,
  apiKey,
  baseURL,
  CHAT_MODEL,
  EMBEDDING_MODEL,
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

type MessageParam = OpenAI.Chat.Completions.ChatCompletionMessageParam;
type ToolCall = OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;

const client = new OpenAI({ baseURL, apiKey });
const answers = new Answers();

const weatherParameters = {
  type: "object",
  properties: {
    city: { type: "string" },
    unit: { type: "string", enum: ["celsius", "fahrenheit"] },
  },
  required: ["city", "unit"],
  additionalProperties: false,
};
const weatherTool: OpenAI.Chat.Completions.ChatCompletionFunctionTool = {
  type: "function",
  function: { ...WEATHER_TOOL, parameters: weatherParameters },
};

describe("the official openai client", () => {
  it("carries a three-turn chat, pushing each answer's message back as it came", async () => {
    const messages: MessageParam[] = [
      { role: "system", content: "You are a sailor who talks about the sea." },
    ];
    const turns = [
      "Tell me about the sea and the ships on it.",
      "What do sailors eat on a long voyage?",
      "And how do they find their way at night?",
    ];
    for (const [i, content] of turns.entries()) {
      messages.push({ role: "user", content });
      const { data, response } = await client.chat.completions
        .create({ model: CHAT_MODEL, messages, max_tokens: 32, seed: SEED })
        .withResponse();
      const message = data.choices[0]?.message;
      expect(message?.role).toBe("assistant");
      expect(message?.content?.trim()).not.toBe("");
      // Pushed back whole, `refusal: null`, `annotations: []` and all.
      if (message) messages.push(message);
      await answers.add(`chat turn ${i + 1}`, response.headers.get(INFERENCE_ID_HEADER), {
        verity: verityOf(data),
      });
    }
    expect(messages.filter((m) => m.role === "assistant")).toHaveLength(3);
  });

  it("streams a tool call with the stream helper, then answers the tool result in words", async () => {
    const messages: MessageParam[] = [{ role: "user", content: WEATHER_QUESTION }];
    const stream = client.chat.completions.stream({
      model: CHAT_MODEL,
      messages,
      tools: [weatherTool],
      max_tokens: 64,
      seed: SEED,
    });
    // The tool call deltas, accumulated as an app does: id, type and name first, then arguments.
    const calls: ToolCall[] = [];
    let verity: VerityBlock | undefined;
    let chunkId: string | undefined;
    for await (const chunk of stream) {
      chunkId = chunk.id;
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        calls[delta.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } };
        const call = calls[delta.index] as ToolCall;
        if (delta.id) call.id = delta.id;
        if (delta.function?.name) call.function.name += delta.function.name;
        if (delta.function?.arguments) call.function.arguments += delta.function.arguments;
      }
      if (hasVerity(chunk)) verity = verityOf(chunk);
    }
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");

    expect(calls).toHaveLength(1);
    const [call] = calls as [ToolCall];
    expect(call.id).not.toBe("");
    expect(call.function.name).toBe(WEATHER_TOOL.name);
    const args = JSON.parse(call.function.arguments) as { city: string };
    const validate = new Ajv().compile(weatherParameters);
    expect(validate(args), JSON.stringify(validate.errors)).toBe(true);
    // The helper's own accumulation agrees with ours.
    const helperCalls = (final.choices[0]?.message.tool_calls ?? []) as ToolCall[];
    expect(helperCalls.map((c) => [c.id, c.function.name, c.function.arguments])).toEqual([
      [call.id, call.function.name, call.function.arguments],
    ]);
    expect(verity, "verity block in the last chunk").toBeDefined();
    await answers.add("streamed tool call", verity?.inference_id, { verity });
    expect(chunkId).toContain(verity?.inference_id);

    messages.push(
      { role: "assistant", content: null, tool_calls: calls },
      { role: "tool", tool_call_id: call.id, content: JSON.stringify(weatherReport(args.city)) },
    );
    const answer = client.chat.completions.stream({
      model: CHAT_MODEL,
      messages,
      tools: [weatherTool],
      max_tokens: 32,
      seed: SEED,
    });
    let answerVerity: VerityBlock | undefined;
    answer.on("chunk", (chunk) => {
      if (hasVerity(chunk)) answerVerity = verityOf(chunk);
    });
    const text = await answer.finalContent();
    const message = await answer.finalMessage();
    expect(text?.trim()).not.toBe("");
    expect(message.tool_calls ?? []).toEqual([]);
    await answers.add("streamed answer to the tool result", answerVerity?.inference_id, {
      verity: answerVerity,
    });
  });

  it("parses a zodResponseFormat answer into a valid object with chat.completions.parse()", async () => {
    const { data, response } = await client.chat.completions
      .parse({
        model: CHAT_MODEL,
        messages: [{ role: "user", content: "Describe the weather in Paris as JSON." }],
        response_format: zodResponseFormat(Weather, "weather"),
        max_tokens: 96,
        seed: SEED,
      })
      .withResponse();
    const message = data.choices[0]?.message;
    expect(message?.refusal).toBeNull();
    expect(Weather.parse(message?.parsed)).toEqual(message?.parsed);
    expect(JSON.parse(message?.content ?? "")).toEqual(message?.parsed);
    await answers.add("parse() with zodResponseFormat", response.headers.get(INFERENCE_ID_HEADER), {
      verity: verityOf(data),
    });
  });

  it("reports logprobs: tokens that join to the content, logprobs ≤ 0, top lists sorted", async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: CHAT_MODEL,
        messages: [{ role: "user", content: "Tell me about the sea and the ships on it." }],
        max_tokens: 24,
        seed: SEED,
        logprobs: true,
        top_logprobs: 3,
      })
      .withResponse();
    const choice = data.choices[0];
    const tokens = choice?.logprobs?.content ?? [];
    expect(tokens.length).toBe(data.usage?.completion_tokens);
    expect(tokens.map((t) => t.token).join("")).toBe(choice?.message.content);
    for (const token of tokens) {
      expect(token.logprob).toBeLessThanOrEqual(0);
      expect(token.bytes).toEqual([...Buffer.from(token.token, "utf8")]);
      expect(token.top_logprobs.length).toBeGreaterThan(0);
      expect(token.top_logprobs.length).toBeLessThanOrEqual(3);
      const tops = token.top_logprobs.map((top) => top.logprob);
      expect(tops).toEqual([...tops].sort((a, b) => b - a));
      for (const top of tops) expect(top).toBeLessThanOrEqual(0);
    }
    await answers.add("logprobs", response.headers.get(INFERENCE_ID_HEADER), {
      verity: verityOf(data),
    });
  });

  it("embeds with dimensions: 64 into 64-long unit vectors", async () => {
    // Without encoding_format the client asks for base64 and decodes it, as apps do.
    const { data, response } = await client.embeddings
      .create({
        model: EMBEDDING_MODEL,
        input: ["the sea is calm tonight", "a ship sails at dawn"],
        dimensions: 64,
      })
      .withResponse();
    expect(data.data).toHaveLength(2);
    for (const item of data.data) {
      expect(item.embedding).toHaveLength(64);
      const norm = Math.hypot(...item.embedding);
      expect(norm).toBeCloseTo(1, 5);
    }
    await answers.add("embeddings, dimensions 64", response.headers.get(INFERENCE_ID_HEADER), {
      model: EMBEDDING_MODEL,
      verity: verityOf(data),
    });
  });

  it("returns two different choices for n: 2", async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: CHAT_MODEL,
        messages: [{ role: "user", content: "Tell me about the sea and the ships on it." }],
        max_tokens: 24,
        seed: SEED,
        n: 2,
      })
      .withResponse();
    expect(data.choices.map((choice) => choice.index)).toEqual([0, 1]);
    const [first, second] = data.choices.map((choice) => choice.message.content ?? "");
    expect(first?.trim()).not.toBe("");
    expect(second?.trim()).not.toBe("");
    expect(first).not.toBe(second);
    await answers.add("n: 2", response.headers.get(INFERENCE_ID_HEADER), {
      verity: verityOf(data),
    });
  });

  it("answers a string input with responses.create()", async () => {
    const { data, response } = await client.responses
      .create({
        model: CHAT_MODEL,
        input: "Tell me about the sea and the ships on it.",
        max_output_tokens: 32,
      })
      .withResponse();
    expect(data.object).toBe("response");
    expect(["completed", "incomplete"]).toContain(data.status);
    expect(data.output_text.trim()).not.toBe("");
    await answers.add("responses.create()", response.headers.get(INFERENCE_ID_HEADER), {
      verity: verityOf(data),
    });
  });

  it("streams a response with responses.create({ stream: true })", async () => {
    const { data: stream, response } = await client.responses
      .create({
        model: CHAT_MODEL,
        input: "Tell me about the sea and the ships on it.",
        max_output_tokens: 32,
        stream: true,
      })
      .withResponse();
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);

    expect(events[0]?.type).toBe("response.created");
    const text = events
      .flatMap((event) => (event.type === "response.output_text.delta" ? [event.delta] : []))
      .join("");
    expect(text.trim()).not.toBe("");
    // The Responses API takes no seed, so the answer may end naturally or at its token limit.
    const done = events.findLast(
      (event) => event.type === "response.completed" || event.type === "response.incomplete",
    );
    expect(done, "a response.completed or response.incomplete event").toBeDefined();
    const output =
      done?.type === "response.completed" || done?.type === "response.incomplete"
        ? done.response.output
        : [];
    const finalText = output
      .flatMap((item) => (item.type === "message" ? item.content : []))
      .map((part) => (part.type === "output_text" ? part.text : ""))
      .join("");
    expect(finalText).toBe(text);

    // The receipt rides in the final event (on the event or on its response).
    const last = events.at(-1);
    const carrier = hasVerity(last) ? last : (last as { response?: unknown } | undefined)?.response;
    await answers.add("responses stream", response.headers.get(INFERENCE_ID_HEADER), {
      verity: verityOf(carrier),
    });
  });

  it("meets a refusal as OpenAI's BadRequestError, with the field at fault in param", async () => {
    const error = await client.responses
      .create({ model: CHAT_MODEL, input: "hi", tools: [{ type: "web_search" }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("tools.0.type");
  });

  it("gets every answer above re-executed and verified by the local verifiers", async () => {
    await answers.expectAllVerified();
  });
});
