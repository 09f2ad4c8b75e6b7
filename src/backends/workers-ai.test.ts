import { describe, expect, it } from "vitest";
import { byteStream, collect, sse } from "../../test/backends/byte-stream";
import { VerityError } from "../errors";
import type { ChatEvent, ChatInput, ModelInfo } from "./backend";
import { createWorkersAiBackend, WORKERS_AI_MODELS } from "./workers-ai";

// The boundary: env.AI. The fake answers as the binding does (workerd's ai-api.ts): a
// ReadableStream of SSE bytes for `stream: true`, a parsed object otherwise, and on failure
// an InferenceUpstreamError whose message is "<internalCode>: <description>".
interface RunCall {
  model: string;
  inputs: Record<string, unknown>;
  options: AiOptions | undefined;
}

class InferenceUpstreamError extends Error {
  constructor(message: string, name = "InferenceUpstreamError") {
    super(message);
    this.name = name;
  }
}

function fakeAi(answer: (call: RunCall) => unknown) {
  const calls: RunCall[] = [];
  const binding = {
    async run(model: string, inputs: Record<string, unknown>, options?: AiOptions) {
      const call = { model, inputs, options };
      calls.push(call);
      return answer(call);
    },
  };
  // Only `run` is used; the other members of the abstract binding class are not.
  return { ai: binding as unknown as Ai, calls };
}

const model = (id: string): ModelInfo => {
  const found = WORKERS_AI_MODELS.find((m) => m.id === id);
  if (!found) throw new Error(`${id} is not in WORKERS_AI_MODELS`);
  return found;
};
const LLAMA = model("@cf/meta/llama-3.3-70b-instruct-fp8-fast");
const GLM = model("@cf/zai-org/glm-4.7-flash");
const BGE = model("@cf/baai/bge-base-en-v1.5");
const GEMMA_EMBED = model("@cf/google/embeddinggemma-300m");

const input = (overrides: Partial<ChatInput> = {}): ChatInput => ({
  model: LLAMA.id,
  messages: [
    { role: "system", content: "Answer in one short sentence." },
    { role: "user", content: "What is the capital of France?" },
  ],
  temperature: 0.7,
  top_p: 1,
  max_tokens: 64,
  seed: 42,
  stop: [],
  ...overrides,
});

const text = (events: ChatEvent[]) =>
  events.flatMap((e) => (e.type === "delta" ? [e.text] : [])).join("");
const done = (events: ChatEvent[]) => {
  const last = events.at(-1);
  if (last?.type !== "done") throw new Error("no done event");
  return last;
};

// A classic-shape stream as @cf/meta/llama-3.3-70b-instruct-fp8-fast sends it: `p` is
// Cloudflare's length-obfuscation padding, and the last event carries the usage.
const CLASSIC = sse(
  { response: "The", p: "abdefgh" },
  { response: " capital", p: "abdefghijklmn" },
  { response: " of France", p: "abd" },
  { response: " is Paris — naturellement, café.", p: "abdefghijkl" },
  { response: "", usage: { prompt_tokens: 47, completion_tokens: 12, total_tokens: 59 } },
  "[DONE]",
);

// An OpenAI-shape stream as @cf/zai-org/glm-4.7-flash sends it: reasoning first, per-chunk
// usage that is not the total, then a classic-shape event with the real totals.
const chunk = (delta: object, finish: string | null = null, usage?: object) => ({
  id: "chatcmpl-5e1f8a3c2b",
  object: "chat.completion.chunk",
  created: 1769620000,
  model: GLM.id,
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  ...(usage ? { usage } : {}),
});
const OPENAI_SHAPE = sse(
  chunk({ role: "assistant", content: "", reasoning_content: null }, null, {
    prompt_tokens: 0,
    completion_tokens: 0,
  }),
  chunk({ reasoning_content: "The user asks for France's capital." }),
  chunk({ content: "Paris" }, null, { prompt_tokens: 0, completion_tokens: 1, total_tokens: 1 }),
  chunk({ content: " is the capital of France." }),
  chunk({ content: "" }, "stop", { prompt_tokens: 0, completion_tokens: 0 }),
  { response: "", usage: { prompt_tokens: 18, completion_tokens: 29, total_tokens: 47 } },
  "[DONE]",
);

describe("createWorkersAiBackend: chat", () => {
  it("runs the model with messages, sampling parameters, seed and stream: true", async () => {
    const { ai, calls } = fakeAi(() => byteStream(CLASSIC).stream);
    await collect(createWorkersAiBackend(ai).chat(LLAMA, input()));
    expect(calls).toHaveLength(1);
    expect(calls[0]?.model).toBe(LLAMA.id);
    expect(calls[0]?.inputs).toEqual({
      messages: input().messages,
      max_tokens: 64,
      temperature: 0.7,
      top_p: 1,
      seed: 42,
      stream: true,
    });
  });

  it("streams classic {response} events cut at awkward byte offsets, with the last event's usage", async () => {
    for (const every of [1, 5, 17, 64]) {
      const { ai } = fakeAi(() => byteStream(CLASSIC, { every }).stream);
      const events = await collect(createWorkersAiBackend(ai).chat(LLAMA, input()));
      expect(text(events)).toBe("The capital of France is Paris — naturellement, café.");
      expect(events.filter((e) => e.type === "delta").length).toBeGreaterThanOrEqual(4);
      expect(done(events)).toEqual({
        type: "done",
        finishReason: "stop",
        usage: { promptTokens: 47, completionTokens: 12 },
      });
    }
  });

  it("streams OpenAI-shaped chunks, leaving reasoning out and taking the final totals as usage", async () => {
    const { ai } = fakeAi(() => byteStream(OPENAI_SHAPE, { every: 23 }).stream);
    const events = await collect(createWorkersAiBackend(ai).chat(GLM, input({ model: GLM.id })));
    expect(text(events)).toBe("Paris is the capital of France.");
    expect(done(events)).toEqual({
      type: "done",
      finishReason: "stop",
      usage: { promptTokens: 18, completionTokens: 29 },
    });
  });

  it("yields the first delta while Workers AI is still generating", async () => {
    let release = () => {};
    const body = byteStream(CLASSIC, {
      every: 40,
      holdAfter: 1,
      release: new Promise<void>((resolve) => {
        release = resolve;
      }),
    });
    const { ai } = fakeAi(() => body.stream);
    const events = createWorkersAiBackend(ai).chat(LLAMA, input())[Symbol.asyncIterator]();
    expect(await events.next()).toEqual({ done: false, value: { type: "delta", text: "The" } });
    expect(body.pulled).toBe(1);
    release();
    expect(text(await collect(events))).toBe(" capital of France is Paris — naturellement, café.");
  });

  it("answers from a non-streamed classic {response, usage} object", async () => {
    const { ai, calls } = fakeAi(() => ({
      response: "Paris.",
      tool_calls: [],
      usage: { prompt_tokens: 47, completion_tokens: 3, total_tokens: 50 },
    }));
    const events = await collect(
      createWorkersAiBackend(ai, { stream: false }).chat(LLAMA, input()),
    );
    expect(calls[0]?.inputs.stream).toBe(false);
    expect(events).toEqual([
      { type: "delta", text: "Paris." },
      { type: "done", finishReason: "stop", usage: { promptTokens: 47, completionTokens: 3 } },
    ]);
  });

  it("answers from a non-streamed OpenAI-shaped object, keeping its 'length' finish reason", async () => {
    const { ai } = fakeAi(() => ({
      id: "chatcmpl-9a7b",
      object: "chat.completion",
      created: 1769620000,
      model: GLM.id,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Paris is", reasoning_content: "Short answer." },
          finish_reason: "length",
        },
      ],
      usage: { prompt_tokens: 18, completion_tokens: 8, total_tokens: 26 },
    }));
    const events = await collect(
      createWorkersAiBackend(ai, { stream: false }).chat(GLM, input({ max_tokens: 8 })),
    );
    expect(events).toEqual([
      { type: "delta", text: "Paris is" },
      { type: "done", finishReason: "length", usage: { promptTokens: 18, completionTokens: 8 } },
    ]);
  });

  it("cuts the answer before a stop sequence split across events and stops reading the stream", async () => {
    const events = [
      sse({ response: "Paris", p: "ab" }),
      sse({ response: ".\n" }),
      sse({ response: "\nQuestion 2:" }),
      sse({ response: " more" }),
      sse({ response: "", usage: { prompt_tokens: 47, completion_tokens: 9 } }, "[DONE]"),
    ];
    // Past the stop sequence the model would go on generating; the stream must not be awaited.
    const body = byteStream(events, { holdAfter: 3, release: new Promise(() => {}) });
    const { ai } = fakeAi(() => body.stream);
    const answer = await collect(createWorkersAiBackend(ai).chat(LLAMA, input({ stop: ["\n\n"] })));
    expect(text(answer)).toBe("Paris.");
    expect(done(answer).finishReason).toBe("stop");
    await body.cancelled;
    expect(body.pulled).toBe(3);
  });

  it("finishes 'length' when the reported completion tokens reach max_tokens", async () => {
    const { ai } = fakeAi(
      () =>
        byteStream(
          sse(
            { response: "Paris is the capital" },
            { response: "", usage: { prompt_tokens: 47, completion_tokens: 4 } },
            "[DONE]",
          ),
        ).stream,
    );
    const events = await collect(createWorkersAiBackend(ai).chat(LLAMA, input({ max_tokens: 4 })));
    expect(done(events)).toMatchObject({ finishReason: "length", usage: { completionTokens: 4 } });
  });

  it("estimates usage when Workers AI reports none", async () => {
    const { ai } = fakeAi(() => byteStream(sse({ response: "Paris." }, "[DONE]")).stream);
    const events = await collect(createWorkersAiBackend(ai).chat(LLAMA, input()));
    const { usage } = done(events);
    expect(usage.completionTokens).toBe(2);
    expect(usage.promptTokens).toBeGreaterThan(10);
  });

  it("leaves out a seed of 0, which Workers AI's input schemas reject", async () => {
    const { ai, calls } = fakeAi(() => byteStream(CLASSIC).stream);
    await collect(createWorkersAiBackend(ai).chat(LLAMA, input({ seed: 0 })));
    expect(calls[0]?.inputs).not.toHaveProperty("seed");
  });

  it("fails with 502 when the stream ends before [DONE]", async () => {
    const { ai } = fakeAi(() => byteStream(sse({ response: "Paris" })).stream);
    await expect(collect(createWorkersAiBackend(ai).chat(LLAMA, input()))).rejects.toMatchObject({
      status: 502,
      code: "backend_error",
    });
  });

  it("fails with 502 on an error event or a malformed event mid-stream", async () => {
    for (const bad of [
      sse({ response: "Pa" }, { error: "Internal inference error" }),
      'data: {"resp\n\n',
    ]) {
      const { ai } = fakeAi(() => byteStream(bad).stream);
      const failure = collect(createWorkersAiBackend(ai).chat(LLAMA, input()));
      await expect(failure).rejects.toBeInstanceOf(VerityError);
      await expect(failure).rejects.toMatchObject({ status: 502 });
    }
  });

  it("passes the abort signal to the binding and rejects with its reason", async () => {
    const controller = new AbortController();
    const reason = new DOMException("client went away", "AbortError");
    const { ai, calls } = fakeAi(({ options }) => {
      controller.abort(reason);
      throw options?.signal?.reason;
    });
    await expect(
      collect(createWorkersAiBackend(ai).chat(LLAMA, input(), { signal: controller.signal })),
    ).rejects.toBe(reason);
    expect(calls[0]?.options?.signal).toBe(controller.signal);
  });

  it("cancels the Workers AI stream when the caller aborts mid-answer", async () => {
    const body = byteStream(CLASSIC, { every: 40, holdAfter: 1, release: new Promise(() => {}) });
    const { ai } = fakeAi(() => body.stream);
    const controller = new AbortController();
    const events = createWorkersAiBackend(ai)
      .chat(LLAMA, input(), { signal: controller.signal })
      [Symbol.asyncIterator]();
    await events.next();
    const next = events.next();
    controller.abort(new DOMException("client went away", "AbortError"));
    await expect(next).rejects.toMatchObject({ name: "AbortError" });
    await expect(body.cancelled).resolves.toMatchObject({ name: "AbortError" });
  });
});

describe("createWorkersAiBackend: errors", () => {
  const failWith = async (error: Error) => {
    const { ai } = fakeAi(() => {
      throw error;
    });
    try {
      await collect(createWorkersAiBackend(ai).chat(LLAMA, input()));
    } catch (thrown) {
      return thrown;
    }
    throw new Error("expected the chat to fail");
  };

  it("maps 5007 'No such model' to 404 model_not_found on param model", async () => {
    const error = await failWith(
      new InferenceUpstreamError(`5007: No such model ${LLAMA.id} or task`, "AiError"),
    );
    expect(error).toBeInstanceOf(VerityError);
    expect(error).toMatchObject({ status: 404, code: "model_not_found", param: "model" });
  });

  it("maps 5006 input validation to 400 with Workers AI's description, not a stack", async () => {
    const error = await failWith(
      new InferenceUpstreamError(
        "AiError: 5006: Error: oneOf at '/' not met, 0 matches: Type mismatch of '/top_p', 'number' not in range",
      ),
    );
    expect(error).toMatchObject({ status: 400, type: "invalid_request_error" });
    expect((error as VerityError).message).toBe(
      "Workers AI rejected the request: oneOf at '/' not met, 0 matches: Type mismatch of '/top_p', 'number' not in range",
    );
  });

  it("maps 5021 context window overflow to 400 context_length_exceeded", async () => {
    const error = await failWith(
      new InferenceUpstreamError(
        "5021: The estimated number of input and maximum output tokens (140512) exceeded this model context window limit (131072).",
      ),
    );
    expect(error).toMatchObject({ status: 400, code: "context_length_exceeded" });
  });

  it("maps 3040 out of capacity and 3036 daily limit to 503, which clients retry", async () => {
    for (const message of [
      "3040: Capacity temporarily exceeded, please try again.",
      "InferenceUpstreamError: 3036: You have used up your daily free allocation of 10,000 neurons.",
    ]) {
      const error = await failWith(new InferenceUpstreamError(message));
      expect(error).toMatchObject({ status: 503, type: "service_unavailable" });
    }
  });

  it("maps 3007 timeout to 504", async () => {
    const error = await failWith(new InferenceUpstreamError("3007: Request timeout"));
    expect(error).toMatchObject({ status: 504 });
  });

  it("maps account and plan refusals (5018, 5035) and unknown failures to 502", async () => {
    for (const message of [
      "5018: The account is not allowed to access this model",
      "5035: This model requires the Workers Paid plan",
      "Network connection lost.",
    ]) {
      const error = await failWith(new InferenceUpstreamError(message));
      expect(error).toMatchObject({ status: 502, code: "backend_error" });
      expect((error as VerityError).message).toBe("Workers AI failed to run the model.");
    }
  });
});

describe("createWorkersAiBackend: embeddings", () => {
  it("embeds texts with {text: [...]} and returns bge's {shape, data} vectors", async () => {
    const { ai, calls } = fakeAi(({ inputs }) => {
      const texts = inputs.text as string[];
      return {
        shape: [texts.length, 3],
        data: texts.map((t, i) => [t.length / 10, 0.25 * i, 0.125]),
        pooling: "mean",
      };
    });
    const result = await createWorkersAiBackend(ai).embed(BGE, {
      model: BGE.id,
      input: ["hello", "verifiable world"],
    });
    expect(calls[0]).toMatchObject({
      model: BGE.id,
      inputs: { text: ["hello", "verifiable world"] },
    });
    expect(result.embeddings).toEqual([
      [0.5, 0, 0.125],
      [1.6, 0.25, 0.125],
    ]);
    expect(result.usage.promptTokens).toBe(2 + 4);
  });

  it("runs more than 100 texts in batches of 100, bge's limit, keeping their order", async () => {
    const { ai, calls } = fakeAi(({ inputs }) => {
      const texts = inputs.text as string[];
      return { shape: [texts.length, 1], data: texts.map((t) => [Number(t)]) };
    });
    const texts = Array.from({ length: 250 }, (_, i) => String(i));
    const result = await createWorkersAiBackend(ai).embed(BGE, { model: BGE.id, input: texts });
    expect(calls.map((c) => (c.inputs.text as string[]).length)).toEqual([100, 100, 50]);
    expect(result.embeddings.map(([v]) => v)).toEqual(texts.map(Number));
  });

  it("fails with 502 when Workers AI returns fewer vectors than texts", async () => {
    const { ai } = fakeAi(() => ({ shape: [1, 2], data: [[0.1, 0.2]] }));
    await expect(
      createWorkersAiBackend(ai).embed(BGE, { model: BGE.id, input: ["a", "b"] }),
    ).rejects.toMatchObject({
      status: 502,
    });
  });

  it("maps a binding failure during embedding like chat failures", async () => {
    const { ai } = fakeAi(() => {
      throw new InferenceUpstreamError("3040: Capacity temporarily exceeded, please try again.");
    });
    await expect(
      createWorkersAiBackend(ai).embed(BGE, { model: BGE.id, input: ["a"] }),
    ).rejects.toMatchObject({
      status: 503,
    });
  });
});

// The traditional function calling example of Cloudflare's docs
// (https://developers.cloudflare.com/workers-ai/features/function-calling/traditional/), as an
// OpenAI tool. The answers below are built from the documented shapes (that page, the JSON mode
// page and the llama-3.3-70b-instruct-fp8-fast catalog schema): from Cloudflare's docs, not yet
// checked against the live service.
const GET_WEATHER = {
  type: "function" as const,
  function: {
    name: "getWeather",
    description: "Return the weather for a latitude and longitude",
    parameters: {
      type: "object",
      properties: {
        latitude: { type: "string", description: "The latitude for the given location" },
        longitude: { type: "string", description: "The longitude for the given location" },
      },
      required: ["latitude", "longitude"],
    },
  },
};
const LONDON = { role: "user" as const, content: "what is the weather in london?" };
const DOCS_TOOL_ANSWER = {
  response: "",
  tool_calls: [{ arguments: { latitude: "51.5074", longitude: "-0.1278" }, name: "getWeather" }],
  usage: { prompt_tokens: 212, completion_tokens: 31, total_tokens: 243 },
};
const INDIA_SCHEMA = {
  type: "object",
  properties: {
    name: { type: "string" },
    capital: { type: "string" },
    languages: { type: "array", items: { type: "string" } },
  },
  required: ["name", "capital", "languages"],
};
const INDIA = { name: "India", capital: "New Delhi", languages: ["Hindi", "English", "Bengali"] };

const toolCalls = (events: ChatEvent[]) => events.filter((e) => e.type === "tool_call");

describe("createWorkersAiBackend: function calling and JSON mode, Workers AI's own schema (Llama 3.3)", () => {
  it("sends tools in Workers AI's shape, runs unstreamed and reads {response, tool_calls} as tool_call events", async () => {
    const { ai, calls } = fakeAi(() => DOCS_TOOL_ANSWER);
    const events = await collect(
      createWorkersAiBackend(ai).chat(
        LLAMA,
        input({ messages: [LONDON], tools: [GET_WEATHER], tool_choice: "auto" }),
      ),
    );
    expect(calls[0]?.inputs).toEqual({
      messages: [LONDON],
      max_tokens: 64,
      temperature: 0.7,
      top_p: 1,
      seed: 42,
      stream: false,
      tools: [GET_WEATHER],
    });
    expect(toolCalls(events)).toEqual([
      {
        type: "tool_call",
        index: 0,
        id: expect.stringMatching(/^call_\w{24}$/),
        name: "getWeather",
        arguments: '{"latitude":"51.5074","longitude":"-0.1278"}',
      },
    ]);
    expect(done(events)).toEqual({
      type: "done",
      finishReason: "tool_calls",
      usage: { promptTokens: 212, completionTokens: 31 },
    });
  });

  it("writes the descriptions and parameter fields Workers AI requires where an OpenAI tool leaves them out", async () => {
    const { ai, calls } = fakeAi(() => DOCS_TOOL_ANSWER);
    const bare = {
      type: "function" as const,
      function: {
        name: "getWeather",
        parameters: { properties: { city: { type: "string" } }, required: ["city"] },
      },
    };
    const noParameters = { type: "function" as const, function: { name: "now" } };
    await collect(
      createWorkersAiBackend(ai).chat(
        LLAMA,
        input({ tools: [bare, noParameters], tool_choice: "auto" }),
      ),
    );
    expect(calls[0]?.inputs.tools).toEqual([
      {
        type: "function",
        function: {
          name: "getWeather",
          description: "",
          parameters: {
            type: "object",
            properties: { city: { type: "string", description: "" } },
            required: ["city"],
          },
        },
      },
      {
        type: "function",
        function: { name: "now", description: "", parameters: { type: "object", properties: {} } },
      },
    ]);
  });

  it("replays an earlier call and its result as the docs' example does: the call as JSON, then a tool message", async () => {
    const { ai, calls } = fakeAi(() => ({ response: "It is 18°C in London.", tool_calls: [] }));
    const call = {
      id: "call_1",
      type: "function" as const,
      function: { name: "getWeather", arguments: '{"latitude":"51.5074","longitude":"-0.1278"}' },
    };
    const events = await collect(
      createWorkersAiBackend(ai).chat(
        LLAMA,
        input({
          messages: [
            LONDON,
            { role: "assistant", content: "", tool_calls: [call] },
            { role: "tool", content: '{"celsius":18}', tool_call_id: "call_1" },
          ],
          tools: [GET_WEATHER],
          tool_choice: "auto",
        }),
      ),
    );
    expect(calls[0]?.inputs.messages).toEqual([
      LONDON,
      {
        role: "assistant",
        content: '{"name":"getWeather","arguments":{"latitude":"51.5074","longitude":"-0.1278"}}',
      },
      { role: "tool", content: '{"celsius":18}' },
    ]);
    expect(text(events)).toBe("It is 18°C in London.");
    expect(done(events).finishReason).toBe("stop");
  });

  it("offers no tool for tool_choice none, and keeps only the first call when parallel_tool_calls is false", async () => {
    const { ai, calls } = fakeAi(() => ({
      ...DOCS_TOOL_ANSWER,
      tool_calls: [...DOCS_TOOL_ANSWER.tool_calls, { name: "getWeather", arguments: {} }],
    }));
    const backend = createWorkersAiBackend(ai);
    await collect(backend.chat(LLAMA, input({ tools: [GET_WEATHER], tool_choice: "none" })));
    expect(calls[0]?.inputs).not.toHaveProperty("tools");
    const events = await collect(
      backend.chat(
        LLAMA,
        input({ tools: [GET_WEATHER], tool_choice: "auto", parallel_tool_calls: false }),
      ),
    );
    expect(toolCalls(events)).toHaveLength(1);
  });

  it("asks for JSON mode with the schema itself, unstreamed, and answers the JSON value as text", async () => {
    const { ai, calls } = fakeAi(() => ({ response: INDIA }));
    const events = await collect(
      createWorkersAiBackend(ai).chat(
        LLAMA,
        input({
          response_format: {
            type: "json_schema",
            json_schema: { name: "country", schema: INDIA_SCHEMA, strict: true },
          },
        }),
      ),
    );
    expect(calls[0]?.inputs).toMatchObject({
      stream: false,
      response_format: { type: "json_schema", json_schema: INDIA_SCHEMA },
    });
    expect(JSON.parse(text(events))).toEqual(INDIA);
    await collect(
      createWorkersAiBackend(ai).chat(LLAMA, input({ response_format: { type: "json_object" } })),
    );
    expect(calls[1]?.inputs.response_format).toEqual({ type: "json_object" });
  });

  it("passes the penalties on, which its schema takes", async () => {
    const { ai, calls } = fakeAi(() => byteStream(CLASSIC).stream);
    await collect(
      createWorkersAiBackend(ai).chat(
        LLAMA,
        input({ frequency_penalty: 0.5, presence_penalty: -0.5 }),
      ),
    );
    expect(calls[0]?.inputs).toMatchObject({ frequency_penalty: 0.5, presence_penalty: -0.5 });
  });

  it("refuses (400) what its schema lacks, before running: logit_bias, a forced tool_choice", async () => {
    const { ai, calls } = fakeAi(() => DOCS_TOOL_ANSWER);
    const backend = createWorkersAiBackend(ai);
    const cases: [Partial<ChatInput>, string][] = [
      [{ logit_bias: { "1": 5 } }, "logit_bias"],
      [{ tools: [GET_WEATHER], tool_choice: "required" }, "tool_choice"],
      [
        {
          tools: [GET_WEATHER],
          tool_choice: { type: "function", function: { name: "getWeather" } },
        },
        "tool_choice",
      ],
    ];
    for (const [overrides, param] of cases) {
      await expect(collect(backend.chat(LLAMA, input(overrides)))).rejects.toMatchObject({
        status: 400,
        param,
        code: "unsupported_value",
      });
    }
    expect(calls).toHaveLength(0);
  });
});

// OpenAI's Chat Completions shapes, as the binding's types declare them for these models
// (`ChatCompletionsInput`, `ChatCompletionsOutput` in worker-configuration.d.ts) and as
// glm-4.7-flash streams its chunks: from Cloudflare's docs and types, not yet checked against
// the live service.
const TOOL_STREAM = sse(
  chunk({ role: "assistant", content: "", reasoning_content: null }),
  chunk({ reasoning_content: "The user wants London's weather." }),
  chunk({
    tool_calls: [
      {
        index: 0,
        id: "call_5f2a9c",
        type: "function",
        function: { name: "getWeather", arguments: "" },
      },
    ],
  }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"latitude":"51.5074",' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '"longitude":"-0.1278"}' } }] }),
  chunk({}, "tool_calls"),
  { response: "", usage: { prompt_tokens: 230, completion_tokens: 41, total_tokens: 271 } },
  "[DONE]",
);

describe("createWorkersAiBackend: function calling and JSON mode, OpenAI's schema (GLM-4.7-Flash)", () => {
  it("passes tools, tool_choice, parallel_tool_calls and penalties in OpenAI's shape, and streams the tool call back", async () => {
    const { ai, calls } = fakeAi(() => byteStream(TOOL_STREAM, { every: 29 }).stream);
    const events = await collect(
      createWorkersAiBackend(ai).chat(
        GLM,
        input({
          model: GLM.id,
          messages: [LONDON],
          tools: [GET_WEATHER],
          tool_choice: "required",
          parallel_tool_calls: false,
          frequency_penalty: 0.25,
          logit_bias: { "42": -100 },
        }),
      ),
    );
    expect(calls[0]?.inputs).toEqual({
      messages: [LONDON],
      max_tokens: 64,
      temperature: 0.7,
      top_p: 1,
      seed: 42,
      stream: true,
      tools: [GET_WEATHER],
      tool_choice: "required",
      parallel_tool_calls: false,
      frequency_penalty: 0.25,
      logit_bias: { "42": -100 },
    });
    expect(events).toEqual([
      { type: "tool_call", index: 0, id: "call_5f2a9c", name: "getWeather", arguments: "" },
      { type: "tool_call", index: 0, arguments: '{"latitude":"51.5074",' },
      { type: "tool_call", index: 0, arguments: '"longitude":"-0.1278"}' },
      {
        type: "done",
        finishReason: "tool_calls",
        usage: { promptTokens: 230, completionTokens: 41 },
      },
    ]);
  });

  it("sends earlier tool calls and results as OpenAI's messages", async () => {
    const { ai, calls } = fakeAi(() => byteStream(OPENAI_SHAPE).stream);
    const call = {
      id: "call_1",
      type: "function" as const,
      function: { name: "getWeather", arguments: "{}" },
    };
    await collect(
      createWorkersAiBackend(ai).chat(
        GLM,
        input({
          messages: [
            LONDON,
            { role: "assistant", content: "", tool_calls: [call] },
            { role: "tool", content: "18", tool_call_id: "call_1" },
          ],
          tools: [GET_WEATHER],
          tool_choice: "auto",
        }),
      ),
    );
    expect(calls[0]?.inputs.messages).toEqual([
      LONDON,
      { role: "assistant", content: null, tool_calls: [call] },
      { role: "tool", content: "18", tool_call_id: "call_1" },
    ]);
  });

  it("sends response_format as OpenAI writes it, unstreamed, and reads the answer's message", async () => {
    const format = {
      type: "json_schema" as const,
      json_schema: { name: "country", schema: INDIA_SCHEMA },
    };
    const { ai, calls } = fakeAi(() => ({
      id: "chatcmpl-7d",
      object: "chat.completion",
      created: 1769620000,
      model: GLM.id,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: JSON.stringify(INDIA), refusal: null },
          finish_reason: "stop",
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 40, completion_tokens: 30, total_tokens: 70 },
    }));
    const events = await collect(
      createWorkersAiBackend(ai).chat(GLM, input({ response_format: format })),
    );
    expect(calls[0]?.inputs).toMatchObject({ stream: false, response_format: format });
    expect(JSON.parse(text(events))).toEqual(INDIA);
  });

  it("reads the tool calls of a non-streamed OpenAI-shaped answer", async () => {
    const { ai } = fakeAi(() => ({
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            tool_calls: [
              {
                id: "call_77",
                type: "function",
                function: { name: "getWeather", arguments: '{"latitude":"1"}' },
              },
            ],
          },
          finish_reason: "tool_calls",
        },
      ],
      usage: { prompt_tokens: 40, completion_tokens: 12, total_tokens: 52 },
    }));
    const events = await collect(
      createWorkersAiBackend(ai, { stream: false }).chat(GLM, input({ tools: [GET_WEATHER] })),
    );
    expect(events).toEqual([
      {
        type: "tool_call",
        index: 0,
        id: "call_77",
        name: "getWeather",
        arguments: '{"latitude":"1"}',
      },
      {
        type: "done",
        finishReason: "tool_calls",
        usage: { promptTokens: 40, completionTokens: 12 },
      },
    ]);
  });
});

describe("createWorkersAiBackend: choices and refusals", () => {
  it("runs each choice with a seed of its own, choice 0 with the request's", async () => {
    const { ai, calls } = fakeAi(() => byteStream(CLASSIC).stream);
    const backend = createWorkersAiBackend(ai);
    for (const choice of [0, 1, 2]) {
      await collect(backend.chat(LLAMA, input({ n: 3 }), { choice }));
    }
    const seeds = calls.map((c) => c.inputs.seed);
    expect(seeds[0]).toBe(42);
    expect(new Set(seeds).size).toBe(3);
    expect(calls.every((c) => !("n" in c.inputs))).toBe(true);
  });

  it("refuses logprobs (400, param logprobs) before running any model", async () => {
    const { ai, calls } = fakeAi(() => byteStream(CLASSIC).stream);
    for (const m of [LLAMA, GLM]) {
      await expect(
        collect(createWorkersAiBackend(ai).chat(m, input({ logprobs: true }))),
      ).rejects.toMatchObject({ status: 400, param: "logprobs" });
    }
    expect(calls).toHaveLength(0);
  });
});

describe("createWorkersAiBackend: embedding dimensions", () => {
  const unit = (n: number, i: number) => Array.from({ length: n }, (_, j) => (j === i ? 1 : 0));

  it("shortens embeddinggemma's Matryoshka vectors to dimensions and renormalises them", async () => {
    const { ai, calls } = fakeAi(({ inputs }) => {
      const texts = inputs.text as string[];
      // 768 components: 3 and 4 first, the rest spread thinly.
      const vector = [3, 4, ...Array.from({ length: 766 }, () => 0.01)];
      return { shape: [texts.length, 768], data: texts.map(() => vector) };
    });
    const result = await createWorkersAiBackend(ai).embed(GEMMA_EMBED, {
      model: GEMMA_EMBED.id,
      input: ["hello"],
      dimensions: 2,
    });
    expect(calls[0]?.inputs).toEqual({ text: ["hello"] });
    expect(result.embeddings).toEqual([[0.6, 0.8]]);
  });

  it("keeps whole vectors when dimensions is the model's own length", async () => {
    const { ai } = fakeAi(() => ({ shape: [1, 768], data: [unit(768, 5)] }));
    const result = await createWorkersAiBackend(ai).embed(GEMMA_EMBED, {
      model: GEMMA_EMBED.id,
      input: ["hello"],
      dimensions: 768,
    });
    expect(result.embeddings).toEqual([unit(768, 5)]);
  });

  it("refuses (400, param dimensions) to shorten bge-base's vectors, or to lengthen any", async () => {
    const { ai, calls } = fakeAi(() => ({ shape: [1, 768], data: [unit(768, 0)] }));
    const backend = createWorkersAiBackend(ai);
    await expect(
      backend.embed(BGE, { model: BGE.id, input: ["a"], dimensions: 256 }),
    ).rejects.toMatchObject({
      status: 400,
      param: "dimensions",
      message:
        "The model '@cf/baai/bge-base-en-v1.5' makes 768-dimensional vectors; dimensions must be 768.",
    });
    await expect(
      backend.embed(GEMMA_EMBED, { model: GEMMA_EMBED.id, input: ["a"], dimensions: 1024 }),
    ).rejects.toMatchObject({ status: 400, param: "dimensions" });
    expect(calls).toHaveLength(0);
  });
});

describe("WORKERS_AI_MODELS", () => {
  it("declares every chat model's capabilities: tools and JSON mode as documented, no logprobs, no images", () => {
    for (const m of WORKERS_AI_MODELS.filter((m) => m.kind === "chat")) {
      expect(m.capabilities).toMatchObject({
        tools: true,
        jsonSchema: true,
        logprobs: false,
        images: false,
        maxChoices: 8,
      });
      expect(m.capabilities.maxOutputTokens).toBeLessThan(m.capabilities.contextWindow);
    }
    expect(LLAMA.capabilities).toMatchObject({ contextWindow: 24_000, maxOutputTokens: 8192 });
    expect(GLM.capabilities.contextWindow).toBe(131_072);
  });

  it("declares each embedding model's vector length, and which can be shortened", () => {
    expect(BGE.capabilities.embeddingDimensions).toEqual({ default: 768, shortenable: false });
    expect(GEMMA_EMBED.capabilities.embeddingDimensions).toEqual({
      default: 768,
      shortenable: true,
    });
  });

  it("lists current @cf chat and embedding models, none deterministic, none deprecated in 2026", () => {
    const deprecated = ["@cf/meta/llama-3.1-8b-instruct", "@cf/meta/llama-3-8b-instruct"];
    expect(WORKERS_AI_MODELS.every((m) => m.id.startsWith("@cf/") && !m.deterministic)).toBe(true);
    expect(WORKERS_AI_MODELS.some((m) => m.kind === "chat")).toBe(true);
    expect(WORKERS_AI_MODELS.some((m) => m.kind === "embedding")).toBe(true);
    expect(WORKERS_AI_MODELS.map((m) => m.id)).not.toEqual(expect.arrayContaining(deprecated));
    expect(new Set(WORKERS_AI_MODELS.map((m) => m.id)).size).toBe(WORKERS_AI_MODELS.length);
  });
});
