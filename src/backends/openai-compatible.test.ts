import { describe, expect, it } from "vitest";
import { byteStream, collect, sse } from "../../test/backends/byte-stream";
import { VerityError } from "../errors";
import type { ChatEvent, ChatInput, ModelInfo } from "./backend";
import { createOpenAiCompatibleBackend, type OpenAiCompatibleOptions } from "./openai-compatible";
import { parseOpenAiCompatibleModels } from "./openai-compatible-config";

// The boundary: the upstream HTTP server, answered here the way Ollama, vLLM and llama.cpp's
// server answer (their chunk shapes, usage chunks, error bodies).
interface Request {
  url: string;
  headers: Headers;
  body: Record<string, unknown>;
  signal: AbortSignal | null | undefined;
}

function upstream(answer: (request: Request) => Response | Promise<Response>) {
  const requests: Request[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = {
      url: String(input),
      headers: new Headers(init?.headers),
      body: JSON.parse(String(init?.body)) as Record<string, unknown>,
      signal: init?.signal,
    };
    requests.push(request);
    return answer(request);
  };
  return { fetch, requests };
}

const eventStream = (body: ReadableStream<Uint8Array> | string, headers: HeadersInit = {}) =>
  new Response(body, {
    headers: { "content-type": "text/event-stream; charset=utf-8", ...headers },
  });
const json = (body: unknown, status = 200, headers: HeadersInit = {}) =>
  Response.json(body, { status, headers });

const [LLAMA, QWEN, NOMIC] = parseOpenAiCompatibleModels(
  "llama3.2:3b, qwen=Qwen/Qwen3-8B, embed:nomic-embed-text",
) as [ModelInfo, ModelInfo, ModelInfo];

const backend = (fetch: typeof globalThis.fetch, options: Partial<OpenAiCompatibleOptions> = {}) =>
  createOpenAiCompatibleBackend({
    baseUrl: "http://127.0.0.1:11434/v1/",
    models: [LLAMA, QWEN, NOMIC],
    fetch,
    ...options,
  });

const input = (overrides: Partial<ChatInput> = {}): ChatInput => ({
  model: LLAMA.id,
  messages: [{ role: "user", content: "Name the capital of France." }],
  temperature: 0.2,
  top_p: 0.9,
  max_tokens: 32,
  seed: 7,
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

// Ollama 0.12 (/v1/chat/completions, stream_options.include_usage).
const ollamaChunk = (content: string, finish: string | null = null) => ({
  id: "chatcmpl-412",
  object: "chat.completion.chunk",
  created: 1764072000,
  model: "llama3.2:3b",
  system_fingerprint: "fp_ollama",
  choices: [{ index: 0, delta: { role: "assistant", content }, finish_reason: finish }],
});
const OLLAMA_STREAM = sse(
  ollamaChunk("The"),
  ollamaChunk(" capital"),
  ollamaChunk(" of France is Paris."),
  ollamaChunk("", "stop"),
  {
    id: "chatcmpl-412",
    object: "chat.completion.chunk",
    created: 1764072000,
    model: "llama3.2:3b",
    system_fingerprint: "fp_ollama",
    choices: [],
    usage: { prompt_tokens: 31, completion_tokens: 8, total_tokens: 39 },
  },
  "[DONE]",
);

// vLLM 0.11 with include_usage: a role-only first chunk, `stop_reason`, a usage-only last chunk.
const vllmChunk = (delta: object, finish: string | null = null) => ({
  id: "chatcmpl-b3f1c2d4e5",
  object: "chat.completion.chunk",
  created: 1764072000,
  model: "Qwen/Qwen3-8B",
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, stop_reason: null }],
});
const VLLM_STREAM = sse(
  vllmChunk({ role: "assistant", content: "" }),
  vllmChunk({ content: "Paris" }),
  vllmChunk({ content: ", on the Seine, is" }),
  vllmChunk({ content: "" }, "length"),
  {
    id: "chatcmpl-b3f1c2d4e5",
    object: "chat.completion.chunk",
    created: 1764072000,
    model: "Qwen/Qwen3-8B",
    choices: [],
    usage: { prompt_tokens: 14, total_tokens: 46, completion_tokens: 32 },
  },
  "[DONE]",
);

describe("createOpenAiCompatibleBackend: chat", () => {
  it("posts to {baseUrl}/chat/completions with the upstream model name, stream and include_usage", async () => {
    const { fetch, requests } = upstream(() => eventStream(VLLM_STREAM));
    await collect(
      backend(fetch, { apiKey: "sk-upstream" }).chat(
        QWEN,
        input({ stop: ["\n\n"], model: "qwen" }),
      ),
    );
    expect(requests).toHaveLength(1);
    expect(requests[0]?.url).toBe("http://127.0.0.1:11434/v1/chat/completions");
    expect(requests[0]?.headers.get("authorization")).toBe("Bearer sk-upstream");
    expect(requests[0]?.body).toEqual({
      model: "Qwen/Qwen3-8B",
      messages: [{ role: "user", content: "Name the capital of France." }],
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 32,
      seed: 7,
      stop: ["\n\n"],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("sends no Authorization header without an API key, and no empty stop list", async () => {
    const { fetch, requests } = upstream(() => eventStream(OLLAMA_STREAM));
    await collect(backend(fetch).chat(LLAMA, input()));
    expect(requests[0]?.headers.has("authorization")).toBe(false);
    expect(requests[0]?.body).not.toHaveProperty("stop");
  });

  it("streams Ollama's chunks cut at awkward byte offsets, with the usage chunk's counts", async () => {
    for (const every of [1, 7, 50]) {
      const { fetch } = upstream(() => eventStream(byteStream(OLLAMA_STREAM, { every }).stream));
      const events = await collect(backend(fetch).chat(LLAMA, input()));
      expect(text(events)).toBe("The capital of France is Paris.");
      expect(done(events)).toEqual({
        type: "done",
        finishReason: "stop",
        usage: { promptTokens: 31, completionTokens: 8 },
      });
    }
  });

  it("keeps vLLM's 'length' finish reason and its usage-only last chunk", async () => {
    const { fetch } = upstream(() => eventStream(byteStream(VLLM_STREAM, { every: 13 }).stream));
    const events = await collect(backend(fetch).chat(QWEN, input()));
    expect(text(events)).toBe("Paris, on the Seine, is");
    expect(done(events)).toEqual({
      type: "done",
      finishReason: "length",
      usage: { promptTokens: 14, completionTokens: 32 },
    });
  });

  it("takes llama.cpp's usage from its final chunk, which also carries timings", async () => {
    const chunk = (content: string | null, finish: string | null, extra: object = {}) => ({
      choices: [{ finish_reason: finish, index: 0, delta: content === null ? {} : { content } }],
      created: 1764072000,
      id: "chatcmpl-Xy7",
      model: "gpt-3.5-turbo",
      system_fingerprint: "b6890-5a91109a",
      object: "chat.completion.chunk",
      ...extra,
    });
    const body = sse(
      chunk("Paris", null),
      chunk(".", null),
      chunk(null, "stop", {
        usage: { completion_tokens: 3, prompt_tokens: 12, total_tokens: 15 },
        timings: { prompt_n: 12, predicted_n: 3, predicted_ms: 41.2 },
      }),
      "[DONE]",
    );
    const { fetch } = upstream(() => eventStream(byteStream(body, { every: 9 }).stream));
    const events = await collect(backend(fetch).chat(LLAMA, input()));
    expect(text(events)).toBe("Paris.");
    expect(done(events).usage).toEqual({ promptTokens: 12, completionTokens: 3 });
  });

  it("passes each delta on before the upstream has finished generating", async () => {
    let release = () => {};
    const body = byteStream(OLLAMA_STREAM, {
      every: sse(ollamaChunk("The")).length,
      holdAfter: 1,
      release: new Promise<void>((resolve) => {
        release = resolve;
      }),
    });
    const { fetch } = upstream(() => eventStream(body.stream));
    const events = backend(fetch).chat(LLAMA, input())[Symbol.asyncIterator]();
    expect((await events.next()).value).toEqual({ type: "delta", text: "The" });
    expect(body.pulled).toBe(1);
    release();
    expect(text(await collect(events))).toBe(" capital of France is Paris.");
  });

  it("estimates usage when the upstream ignores include_usage", async () => {
    const { fetch } = upstream(() =>
      eventStream(sse(ollamaChunk("Paris is"), ollamaChunk(" lovely.", "stop"), "[DONE]")),
    );
    const events = await collect(backend(fetch).chat(LLAMA, input()));
    expect(done(events).usage).toEqual({ promptTokens: 3 + 4 + 7, completionTokens: 4 });
  });

  it("cuts the answer before a stop sequence the upstream did not honour and stops reading", async () => {
    const body = byteStream(
      [
        sse(ollamaChunk("1. Paris\n")),
        sse(ollamaChunk("2. Lyon")),
        sse(ollamaChunk("\n3. Marseille")),
        sse(ollamaChunk("", "stop"), "[DONE]"),
      ],
      { holdAfter: 2, release: new Promise(() => {}) },
    );
    const { fetch } = upstream(() => eventStream(body.stream));
    const events = await collect(backend(fetch).chat(LLAMA, input({ stop: ["\n2."] })));
    expect(text(events)).toBe("1. Paris");
    expect(done(events).finishReason).toBe("stop");
    await body.cancelled;
    expect(body.pulled).toBe(2);
  });

  it("keeps the upstream's 'length' finish reason even when it reports no usage", async () => {
    const { fetch } = upstream(() =>
      eventStream(sse(ollamaChunk("Paris is the"), ollamaChunk("", "length"), "[DONE]")),
    );
    const events = await collect(backend(fetch).chat(LLAMA, input({ max_tokens: 100 })));
    expect(done(events).finishReason).toBe("length");
  });

  it("answers non-streamed requests from the chat.completion object", async () => {
    const { fetch, requests } = upstream(() =>
      json({
        id: "chatcmpl-412",
        object: "chat.completion",
        created: 1764072000,
        model: "llama3.2:3b",
        system_fingerprint: "fp_ollama",
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: "Paris." },
            finish_reason: "stop",
          },
        ],
        usage: { prompt_tokens: 31, completion_tokens: 3, total_tokens: 34 },
      }),
    );
    const events = await collect(backend(fetch, { stream: false }).chat(LLAMA, input()));
    expect(requests[0]?.body).toMatchObject({ stream: false });
    expect(requests[0]?.body).not.toHaveProperty("stream_options");
    expect(events).toEqual([
      { type: "delta", text: "Paris." },
      { type: "done", finishReason: "stop", usage: { promptTokens: 31, completionTokens: 3 } },
    ]);
  });

  it("fails with 502 naming the upstream's message when it reports an error mid-stream", async () => {
    for (const failure of [
      // llama.cpp and vLLM today
      'data: {"error":{"code":500,"message":"Context size has been exceeded.","type":"server_error"}}\n\n',
      // llama.cpp before it moved errors into `data:`
      'error: {"code":500,"message":"Context size has been exceeded.","type":"server_error"}\n\n',
    ]) {
      const { fetch } = upstream(() => eventStream(sse(ollamaChunk("Par")) + failure));
      const error = collect(backend(fetch).chat(LLAMA, input()));
      await expect(error).rejects.toBeInstanceOf(VerityError);
      await expect(error).rejects.toMatchObject({
        status: 502,
        message: "The model server failed mid-stream: Context size has been exceeded.",
      });
    }
  });

  it("fails with 502 when the stream ends without a finish reason or [DONE]", async () => {
    const { fetch } = upstream(() => eventStream(sse(ollamaChunk("Par"))));
    await expect(collect(backend(fetch).chat(LLAMA, input()))).rejects.toMatchObject({
      status: 502,
    });
  });

  it("cancels the upstream stream and rejects with the reason when the caller aborts", async () => {
    const body = byteStream(OLLAMA_STREAM, {
      every: sse(ollamaChunk("The")).length,
      holdAfter: 1,
      release: new Promise(() => {}),
    });
    const { fetch } = upstream(() => eventStream(body.stream));
    const controller = new AbortController();
    const events = backend(fetch)
      .chat(LLAMA, input(), { signal: controller.signal })
      [Symbol.asyncIterator]();
    await events.next();
    const next = events.next();
    const reason = new DOMException("client went away", "AbortError");
    controller.abort(reason);
    await expect(next).rejects.toBe(reason);
    await expect(body.cancelled).resolves.toBe(reason);
  });

  it("aborts the upstream request itself when the caller aborts before it answers", async () => {
    const controller = new AbortController();
    const reason = new DOMException("client went away", "AbortError");
    const { fetch, requests } = upstream(
      ({ signal }) =>
        new Promise<Response>((_, reject) => {
          signal?.addEventListener("abort", () => reject(signal.reason));
          controller.abort(reason);
        }),
    );
    await expect(
      collect(backend(fetch).chat(LLAMA, input(), { signal: controller.signal })),
    ).rejects.toBe(reason);
    expect(requests[0]?.signal?.aborted).toBe(true);
  });
});

describe("createOpenAiCompatibleBackend: upstream failures", () => {
  const failWith = async (answer: (request: Request) => Response | Promise<Response>) => {
    const { fetch } = upstream(answer);
    try {
      await collect(backend(fetch, { timeoutMs: 50 }).chat(LLAMA, input()));
    } catch (error) {
      return error;
    }
    throw new Error("expected the chat to fail");
  };

  it("answers 503 backend_unavailable when the upstream is unreachable", async () => {
    const error = await failWith(() => {
      throw new TypeError("Network connection lost.");
    });
    expect(error).toMatchObject({
      status: 503,
      code: "backend_unavailable",
      message: "The model server is unreachable.",
    });
  });

  it("answers 503 when the upstream does not answer in time, and aborts the request", async () => {
    let seen: AbortSignal | null | undefined;
    const error = await failWith(
      ({ signal }) =>
        new Promise<Response>((_, reject) => {
          seen = signal;
          signal?.addEventListener("abort", () => reject(signal.reason));
        }),
    );
    expect(error).toMatchObject({
      status: 503,
      message: "The model server did not answer within 0.05 s.",
    });
    expect(seen?.aborted).toBe(true);
  });

  it("answers 404 model_not_found for Ollama's 'model not found'", async () => {
    const error = await failWith(() =>
      json(
        {
          error: {
            message: 'model "llama3.2:3b" not found, try pulling it first',
            type: "not_found_error",
            param: null,
            code: null,
          },
        },
        404,
      ),
    );
    expect(error).toMatchObject({ status: 404, code: "model_not_found", param: "model" });
  });

  it("answers 502 for a 404 that is not about the model, such as a wrong base URL", async () => {
    const error = await failWith(() => new Response("404 page not found", { status: 404 }));
    expect(error).toMatchObject({ status: 502, code: "backend_error" });
  });

  it("answers 400 with the upstream's message for vLLM's 400, current and legacy bodies", async () => {
    const message =
      "This model's maximum context length is 4096 tokens. However, you requested 4128 tokens (96 in the messages, 4032 in the completion).";
    for (const body of [
      { error: { message, type: "BadRequestError", param: null, code: 400 } },
      { object: "error", message, type: "BadRequestError", param: null, code: 400 },
    ]) {
      const error = await failWith(() => json(body, 400));
      expect(error).toMatchObject({
        status: 400,
        type: "invalid_request_error",
        message: `The model server rejected the request: ${message}`,
      });
    }
  });

  it("answers 502 for 401 and 403: the gateway's credentials are wrong, not the caller's", async () => {
    for (const status of [401, 403]) {
      const error = await failWith(() =>
        json({ error: { message: "Invalid API Key", type: "authentication_error" } }, status),
      );
      expect(error).toMatchObject({ status: 502, code: "backend_error" });
      expect((error as VerityError).message).not.toContain("Invalid API Key");
    }
  });

  it("answers 503 and passes Retry-After on for 429 and 503 from the upstream", async () => {
    for (const status of [429, 503]) {
      const error = await failWith(() =>
        json({ error: { message: "server busy, please try again.", type: "api_error" } }, status, {
          "retry-after": "7",
        }),
      );
      expect(error).toMatchObject({
        status: 503,
        type: "service_unavailable",
        headers: { "retry-after": "7" },
      });
    }
  });

  it("answers 502 for the upstream's 500, without its internals", async () => {
    const error = await failWith(() =>
      json(
        { error: { code: 500, message: "CUDA error: out of memory", type: "server_error" } },
        500,
      ),
    );
    expect(error).toMatchObject({ status: 502, message: "The model server failed (HTTP 500)." });
  });
});

describe("createOpenAiCompatibleBackend: embeddings", () => {
  it("posts float embeddings requests and orders vectors by index", async () => {
    const { fetch, requests } = upstream(() =>
      json({
        object: "list",
        data: [
          { object: "embedding", embedding: [0.25, -0.5], index: 1 },
          { object: "embedding", embedding: [0.125, 0.75], index: 0 },
        ],
        model: "nomic-embed-text",
        usage: { prompt_tokens: 9, total_tokens: 9 },
      }),
    );
    const result = await backend(fetch).embed(NOMIC, {
      model: NOMIC.id,
      input: ["first text", "second text"],
    });
    expect(requests[0]?.url).toBe("http://127.0.0.1:11434/v1/embeddings");
    expect(requests[0]?.body).toEqual({
      model: "nomic-embed-text",
      input: ["first text", "second text"],
      encoding_format: "float",
    });
    expect(result).toEqual({
      embeddings: [
        [0.125, 0.75],
        [0.25, -0.5],
      ],
      usage: { promptTokens: 9 },
    });
  });

  it("estimates prompt tokens when the upstream reports no usage", async () => {
    const { fetch } = upstream(() =>
      json({ object: "list", data: [{ object: "embedding", embedding: [1], index: 0 }] }),
    );
    expect(
      (await backend(fetch).embed(NOMIC, { model: NOMIC.id, input: ["twelve chars"] })).usage,
    ).toEqual({
      promptTokens: 3,
    });
  });

  it("fails with 502 when the upstream returns a different number of vectors", async () => {
    const { fetch } = upstream(() => json({ object: "list", data: [] }));
    await expect(
      backend(fetch).embed(NOMIC, { model: NOMIC.id, input: ["a"] }),
    ).rejects.toMatchObject({ status: 502 });
  });

  it("maps embedding failures like chat failures", async () => {
    const { fetch } = upstream(() =>
      json({ error: { message: 'model "nomic-embed-text" not found' } }, 404),
    );
    await expect(
      backend(fetch).embed(NOMIC, { model: NOMIC.id, input: ["a"] }),
    ).rejects.toMatchObject({
      status: 404,
      code: "model_not_found",
    });
  });
});

const WEATHER_TOOL = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "The current weather in a city.",
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    },
  },
};

// vLLM 0.11 with --enable-auto-tool-choice: the call's id and name first, then its arguments in
// pieces, then finish_reason "tool_calls".
const VLLM_TOOL_STREAM = sse(
  vllmChunk({ role: "assistant", content: "" }),
  vllmChunk({
    tool_calls: [
      {
        id: "chatcmpl-tool-9c2e4f",
        type: "function",
        index: 0,
        function: { name: "get_weather" },
      },
    ],
  }),
  vllmChunk({ tool_calls: [{ index: 0, function: { arguments: '{"city": ' } }] }),
  vllmChunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
  vllmChunk({ content: "" }, "tool_calls"),
  {
    id: "chatcmpl-b3f1c2d4e5",
    object: "chat.completion.chunk",
    created: 1764072000,
    model: "Qwen/Qwen3-8B",
    choices: [],
    usage: { prompt_tokens: 180, total_tokens: 202, completion_tokens: 22 },
  },
  "[DONE]",
);

describe("createOpenAiCompatibleBackend: tools, structured output, penalties and logprobs", () => {
  it("passes tools, tool_choice, parallel_tool_calls, response_format, penalties, logit_bias and logprobs through to the upstream", async () => {
    const { fetch, requests } = upstream(() => eventStream(OLLAMA_STREAM));
    const responseFormat = {
      type: "json_schema" as const,
      json_schema: { name: "weather", schema: { type: "object" }, strict: true },
    };
    await collect(
      backend(fetch).chat(
        LLAMA,
        input({
          tools: [WEATHER_TOOL],
          tool_choice: { type: "function", function: { name: "get_weather" } },
          parallel_tool_calls: false,
          response_format: responseFormat,
          frequency_penalty: 0.5,
          presence_penalty: -0.25,
          logit_bias: { "15339": -100 },
          logprobs: true,
          top_logprobs: 3,
        }),
      ),
    );
    expect(requests[0]?.body).toEqual({
      model: "llama3.2:3b",
      messages: [{ role: "user", content: "Name the capital of France." }],
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 32,
      seed: 7,
      tools: [WEATHER_TOOL],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      response_format: responseFormat,
      frequency_penalty: 0.5,
      presence_penalty: -0.25,
      logit_bias: { "15339": -100 },
      logprobs: true,
      top_logprobs: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("sends earlier tool calls as OpenAI's assistant tool_calls (content null) and results as tool messages", async () => {
    const { fetch, requests } = upstream(() => eventStream(OLLAMA_STREAM));
    const call = {
      id: "call_1",
      type: "function" as const,
      function: { name: "get_weather", arguments: '{"city":"Paris"}' },
    };
    await collect(
      backend(fetch).chat(
        LLAMA,
        input({
          messages: [
            { role: "user", content: "Weather in Paris?" },
            { role: "assistant", content: "", tool_calls: [call] },
            { role: "tool", content: "18°C, sunny", tool_call_id: "call_1" },
          ],
          tools: [WEATHER_TOOL],
          tool_choice: "auto",
        }),
      ),
    );
    expect(requests[0]?.body.messages).toEqual([
      { role: "user", content: "Weather in Paris?" },
      { role: "assistant", content: null, tool_calls: [call] },
      { role: "tool", content: "18°C, sunny", tool_call_id: "call_1" },
    ]);
    expect(requests[0]?.body.tool_choice).toBe("auto");
  });

  it("streams vLLM's tool-call deltas back as tool_call events, finishing with tool_calls", async () => {
    const { fetch } = upstream(() =>
      eventStream(byteStream(VLLM_TOOL_STREAM, { every: 11 }).stream),
    );
    const events = await collect(
      backend(fetch).chat(QWEN, input({ tools: [WEATHER_TOOL], tool_choice: "auto" })),
    );
    expect(events).toEqual([
      {
        type: "tool_call",
        index: 0,
        id: "chatcmpl-tool-9c2e4f",
        name: "get_weather",
        arguments: "",
      },
      { type: "tool_call", index: 0, arguments: '{"city": ' },
      { type: "tool_call", index: 0, arguments: '"Paris"}' },
      {
        type: "done",
        finishReason: "tool_calls",
        usage: { promptTokens: 180, completionTokens: 22 },
      },
    ]);
  });

  it("reads the tool calls of a non-streamed answer, Ollama's whole call in one piece", async () => {
    const { fetch } = upstream(() =>
      json({
        id: "chatcmpl-88",
        object: "chat.completion",
        created: 1764072000,
        model: "llama3.2:3b",
        choices: [
          {
            index: 0,
            message: {
              role: "assistant",
              content: "",
              tool_calls: [
                {
                  id: "call_k3v9q2lm",
                  index: 0,
                  type: "function",
                  function: { name: "get_weather", arguments: '{"city":"Paris"}' },
                },
              ],
            },
            finish_reason: "tool_calls",
          },
        ],
        usage: { prompt_tokens: 160, completion_tokens: 18, total_tokens: 178 },
      }),
    );
    const events = await collect(
      backend(fetch, { stream: false }).chat(LLAMA, input({ tools: [WEATHER_TOOL] })),
    );
    expect(events).toEqual([
      {
        type: "tool_call",
        index: 0,
        id: "call_k3v9q2lm",
        name: "get_weather",
        arguments: '{"city":"Paris"}',
      },
      {
        type: "done",
        finishReason: "tool_calls",
        usage: { promptTokens: 160, completionTokens: 18 },
      },
    ]);
  });

  it("passes the upstream's logprobs.content on as delta logprobs", async () => {
    const withLogprobs = (content: string, logprob: number, finish: string | null = null) => ({
      ...vllmChunk({ content }, finish),
      choices: [
        {
          index: 0,
          delta: { content },
          logprobs: {
            content: [
              {
                token: content,
                logprob,
                bytes: [...new TextEncoder().encode(content)],
                top_logprobs: [
                  { token: content, logprob, bytes: null },
                  { token: " Lyon", logprob: -7.25, bytes: null },
                ],
              },
            ],
          },
          finish_reason: finish,
        },
      ],
    });
    const { fetch } = upstream(() =>
      eventStream(sse(withLogprobs("Paris", -0.0012), withLogprobs(".", -0.5, "stop"), "[DONE]")),
    );
    const events = await collect(
      backend(fetch).chat(QWEN, input({ logprobs: true, top_logprobs: 2 })),
    );
    expect(events.filter((e) => e.type === "delta")).toEqual([
      {
        type: "delta",
        text: "Paris",
        logprobs: [
          {
            token: "Paris",
            logprob: -0.0012,
            top_logprobs: [
              { token: "Paris", logprob: -0.0012 },
              { token: " Lyon", logprob: -7.25 },
            ],
          },
        ],
      },
      {
        type: "delta",
        text: ".",
        logprobs: [
          {
            token: ".",
            logprob: -0.5,
            top_logprobs: [
              { token: ".", logprob: -0.5 },
              { token: " Lyon", logprob: -7.25 },
            ],
          },
        ],
      },
    ]);
  });

  it("generates each of n choices with its own call: n left out, choice 0 with the request's seed, others with seeds of their own", async () => {
    const { fetch, requests } = upstream(() => eventStream(OLLAMA_STREAM));
    for (const choice of [0, 1, 2]) {
      await collect(backend(fetch).chat(LLAMA, input({ n: 3 }), { choice }));
    }
    expect(requests.map((r) => r.body.n)).toEqual([undefined, undefined, undefined]);
    const seeds = requests.map((r) => r.body.seed as number);
    expect(seeds[0]).toBe(7);
    expect(new Set(seeds).size).toBe(3);
    for (const seed of seeds) expect(seed >>> 0).toBe(seed);
  });
});

describe("createOpenAiCompatibleBackend: embedding dimensions", () => {
  it("passes dimensions through to the upstream", async () => {
    const { fetch, requests } = upstream(() =>
      json({ object: "list", data: [{ object: "embedding", embedding: [0.6, 0.8], index: 0 }] }),
    );
    const result = await backend(fetch).embed(NOMIC, {
      model: NOMIC.id,
      input: ["a"],
      dimensions: 2,
    });
    expect(requests[0]?.body).toEqual({
      model: "nomic-embed-text",
      input: ["a"],
      encoding_format: "float",
      dimensions: 2,
    });
    expect(result.embeddings).toEqual([[0.6, 0.8]]);
  });

  it("refuses (400, param dimensions) vectors of another length than the dimensions asked for", async () => {
    const { fetch } = upstream(() =>
      json({ object: "list", data: [{ object: "embedding", embedding: [1, 0, 0], index: 0 }] }),
    );
    await expect(
      backend(fetch).embed(NOMIC, { model: NOMIC.id, input: ["a"], dimensions: 2 }),
    ).rejects.toMatchObject({ status: 400, param: "dimensions" });
  });
});
