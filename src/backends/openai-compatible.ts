import { z } from "zod";
import { invalidRequest, upstreamError, VerityError } from "../errors";
import type { Backend, ChatInput, ModelInfo } from "./backend";
import { completeChat, type UpstreamChunk } from "./complete-chat";
import {
  choiceSeed,
  openAiMessages,
  openAiOptionalFields,
  tokenLogprobs,
  toolCallPieces,
  WireDelta,
  WireLogprobs,
  WireMessage,
} from "./openai-wire";
import { readServerSentEvents } from "./sse";
import { estimateTokens } from "./token-estimate";

/** Options of {@link createOpenAiCompatibleBackend}. */
export interface OpenAiCompatibleOptions {
  /** The upstream's OpenAI API root, e.g. `http://localhost:11434/v1` (Ollama). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>` when set. */
  apiKey?: string;
  /** The models this upstream serves; see `parseOpenAiCompatibleModels`. */
  models: readonly ModelInfo[];
  /** The fetch to reach the upstream with; `globalThis.fetch` by default. */
  fetch?: typeof fetch;
  /** Ask the upstream to stream (the default); without it the answer arrives as one delta. */
  stream?: boolean;
  /** How long to wait for the upstream's response headers, in ms (default 30 s). */
  timeoutMs?: number;
}

/** An OpenAI-compatible backend, with the models it was configured with. */
export interface OpenAiCompatibleBackend extends Backend {
  readonly models: readonly ModelInfo[];
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * A backend over any server that speaks OpenAI's `/chat/completions` and `/embeddings`:
 * Ollama, vLLM, llama.cpp's server. Streams are passed through as they arrive, with usage
 * requested via `stream_options.include_usage`; an upstream that still reports none gets an
 * estimate (see complete-chat.ts). `stop` is sent upstream and also enforced here.
 *
 * The request's optional fields (tools, `tool_choice`, `parallel_tool_calls`, `response_format`,
 * penalties, `logit_bias`, `logprobs`/`top_logprobs`) go upstream as OpenAI spells them, and the
 * answer's tool calls and logprobs come back as events. Each of the request's `n` choices is its
 * own call (`options.choice`), sent without `n` (so 1) and with a seed of its own (`choiceSeed`).
 * Embedding requests pass `dimensions` on.
 *
 * Upstream failures map to `VerityError`s: unreachable or timed out → 503; 404 naming the
 * model → 404 `model_not_found`; 400/422 → 400 with the upstream's message; 401/403 → 502
 * (our credentials, not the client's fault); 429 and 503 → 503 passing `Retry-After` on;
 * other statuses → 502. A 429 is not passed on as 429 because it limits this gateway's
 * account, not the caller's key: a 429 from Verity means "your key is over its limit".
 */
export function createOpenAiCompatibleBackend(
  options: OpenAiCompatibleOptions,
): OpenAiCompatibleBackend {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const stream = options.stream ?? true;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // Resolved per call, so that a fetch installed later (a test spy, an instrumented fetch) is used.
  const fetchUpstream: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: stream ? "text/event-stream, application/json" : "application/json",
  };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;

  async function post(
    path: string,
    body: unknown,
    model: ModelInfo,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    let response: Response;
    try {
      signal?.throwIfAborted();
      response = await fetchUpstream(`${baseUrl}${path}`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: controller.signal,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw upstreamError(
        timedOut
          ? `The model server did not answer within ${timeoutMs / 1000} s.`
          : "The model server is unreachable.",
        { status: 503, cause: error, details: { url: `${baseUrl}${path}` } },
      );
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
    if (!response.ok) throw await httpError(response, model);
    return response;
  }

  return {
    name: "openai-compatible",
    models: options.models,
    async *chat(model, input, { signal, choice } = {}) {
      const response = await post(
        "/chat/completions",
        chatBody(model, input, stream, choice),
        model,
        signal,
      );
      const isStream = response.headers.get("content-type")?.includes("text/event-stream");
      const chunks =
        isStream && response.body
          ? streamedChunks(response.body, signal)
          : [answerChunk(await readJson(response, signal))];
      yield* completeChat(chunks, input);
    },
    async embed(model, request, signal) {
      const { input, dimensions } = request;
      const response = await post(
        "/embeddings",
        {
          model: upstreamName(model),
          input,
          encoding_format: "float",
          ...(dimensions === undefined ? {} : { dimensions }),
        },
        model,
        signal,
      );
      const parsed = Embeddings.safeParse(await readJson(response, signal));
      if (!parsed.success || parsed.data.data.length !== input.length) {
        throw upstreamError(
          "The model server answered an embedding request in an unexpected shape.",
          {
            details: parsed.success ? { expected: input.length, got: parsed.data.data.length } : {},
          },
        );
      }
      const embeddings = [...parsed.data.data].sort((a, b) => a.index - b.index);
      // An upstream that ignores `dimensions` (older Ollama did) answers whole vectors, which
      // the receipt must not commit to as an answer to the shorter request.
      const wrong =
        dimensions === undefined
          ? undefined
          : embeddings.find((item) => item.embedding.length !== dimensions);
      if (wrong) {
        throw invalidRequest(
          `The model server does not shorten the vectors of '${model.id}': it answered ${wrong.embedding.length} dimensions for dimensions ${dimensions}.`,
          "dimensions",
        );
      }
      return {
        embeddings: embeddings.map((item) => item.embedding),
        usage: {
          promptTokens:
            parsed.data.usage?.prompt_tokens ??
            input.reduce((sum, text) => sum + estimateTokens(text), 0),
        },
      };
    },
  };
}

const upstreamName = (model: ModelInfo) => model.upstreamId ?? model.id;

function chatBody(
  model: ModelInfo,
  input: ChatInput,
  stream: boolean,
  choice: number | undefined,
): Record<string, unknown> {
  return {
    model: upstreamName(model),
    messages: openAiMessages(input.messages),
    temperature: input.temperature,
    top_p: input.top_p,
    max_tokens: input.max_tokens,
    seed: choiceSeed(input.seed, choice),
    // Some servers reject an empty `stop` array; leaving it out means the same.
    ...(input.stop.length > 0 ? { stop: input.stop } : {}),
    ...openAiOptionalFields(input),
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
  };
}

const Usage = z.object({
  prompt_tokens: z.number().int().nonnegative().optional(),
  completion_tokens: z.number().int().nonnegative().optional(),
});

const Chunk = z.object({
  choices: z
    .array(
      z.object({
        delta: WireDelta.nullish(),
        logprobs: WireLogprobs,
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: Usage.nullish(),
});

const Completion = z.object({
  choices: z
    .array(
      z.object({
        message: WireMessage,
        logprobs: WireLogprobs,
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: Usage.nullish(),
});

const Embeddings = z.object({
  data: z.array(z.object({ index: z.number().int(), embedding: z.array(z.number()) })),
  usage: Usage.nullish(),
});

const usageOf = (usage: z.infer<typeof Usage> | null | undefined): UpstreamChunk["usage"] =>
  usage
    ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens }
    : undefined;

async function* streamedChunks(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
): AsyncGenerator<UpstreamChunk, void, undefined> {
  let finished = false;
  try {
    for await (const { event, data } of readServerSentEvents(body, signal)) {
      if (data === "[DONE]") return;
      const json = parseEventJson(data);
      // llama.cpp, vLLM and Ollama report a failure after the 200 as `data: {"error": ...}`.
      if (event === "error" || hasError(json)) {
        throw upstreamError(`The model server failed mid-stream: ${errorMessage(json)}`, {
          details: { event: data.slice(0, 500) },
        });
      }
      const chunk = Chunk.safeParse(json);
      if (!chunk.success) {
        throw upstreamError("The model server sent a stream event Verity does not understand.", {
          details: { event: data.slice(0, 200), issues: chunk.error.issues },
        });
      }
      const choice = chunk.data.choices?.[0];
      const finishReason = choice?.finish_reason ?? undefined;
      if (finishReason) finished = true;
      yield {
        text: choice?.delta?.content ?? "",
        toolCalls: toolCallPieces(choice?.delta?.tool_calls),
        logprobs: tokenLogprobs(choice?.logprobs),
        usage: usageOf(chunk.data.usage),
        finishReason,
      };
    }
  } catch (error) {
    if (error instanceof VerityError) throw error;
    if (signal?.aborted) throw signal.reason;
    throw upstreamError("The connection to the model server broke off mid-stream.", {
      cause: error,
    });
  }
  // Servers that omit `[DONE]` still end on a chunk with a finish reason.
  if (!finished) {
    throw upstreamError("The model server's stream ended before the answer was complete.");
  }
}

function parseEventJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch (error) {
    throw upstreamError("The model server sent a malformed stream event.", {
      cause: error,
      details: { event: data.slice(0, 200) },
    });
  }
}

const hasError = (json: unknown): boolean =>
  typeof json === "object" && json !== null && "error" in json && json.error != null;

function answerChunk(json: unknown): UpstreamChunk {
  const completion = Completion.safeParse(json);
  if (!completion.success) {
    throw upstreamError("The model server answered in a shape Verity does not understand.", {
      details: { issues: completion.error.issues },
    });
  }
  const choice = completion.data.choices[0];
  return {
    text: choice?.message.content ?? "",
    toolCalls: toolCallPieces(choice?.message.tool_calls),
    logprobs: tokenLogprobs(choice?.logprobs),
    usage: usageOf(completion.data.usage),
    finishReason: choice?.finish_reason ?? undefined,
  };
}

async function readJson(response: Response, signal: AbortSignal | undefined): Promise<unknown> {
  try {
    return await response.json();
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw upstreamError("The model server sent a response that is not JSON.", { cause: error });
  }
}

// The error bodies of the servers we target: OpenAI, Ollama, llama.cpp and current vLLM nest
// `{ error: { message } }`; older vLLM answers `{ object: "error", message }`; FastAPI `{ detail }`.
const ErrorBody = z.union([
  z.object({ error: z.union([z.string(), z.object({ message: z.string() })]) }),
  z.object({ message: z.string() }),
  z.object({ detail: z.string() }),
]);

function errorMessage(body: unknown): string {
  const parsed = ErrorBody.safeParse(body);
  let message = "unknown error";
  if (parsed.success) {
    const data = parsed.data;
    if ("error" in data) message = typeof data.error === "string" ? data.error : data.error.message;
    else if ("message" in data) message = data.message;
    else message = data.detail;
  }
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}

async function httpError(response: Response, model: ModelInfo): Promise<VerityError> {
  const text = await response.text().catch(() => "");
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  const message = errorMessage(body);
  const details = { upstreamStatus: response.status, upstreamBody: text.slice(0, 1000) };
  const { status } = response;
  if (status === 400 || status === 422) {
    return new VerityError(`The model server rejected the request: ${message}`, {
      status: 400,
      type: "invalid_request_error",
      code: "invalid_request",
      details,
    });
  }
  if (status === 404 && /model/i.test(message)) {
    return new VerityError(`The model '${model.id}' is not available on its model server.`, {
      status: 404,
      type: "invalid_request_error",
      code: "model_not_found",
      param: "model",
      details,
    });
  }
  if (status === 413) {
    return new VerityError("The request is too large for the model server.", {
      status: 413,
      type: "invalid_request_error",
      code: "request_too_large",
      details,
    });
  }
  if (status === 429 || status === 503) {
    const retryAfter = response.headers.get("retry-after");
    return new VerityError("The model server is overloaded; retry shortly.", {
      status: 503,
      type: "service_unavailable",
      code: "backend_unavailable",
      details,
      ...(retryAfter ? { headers: { "retry-after": retryAfter } } : {}),
    });
  }
  if (status === 401 || status === 403) {
    return upstreamError("The model server refused this gateway's credentials.", { details });
  }
  return upstreamError(`The model server failed (HTTP ${status}).`, { details });
}
