import type { ChatMessage, FunctionTool, ResponseFormat } from "@verity/protocol/request";
import { z } from "zod";
import { invalidRequest, upstreamError, VerityError } from "../errors";
import type { Backend, ChatInput, ModelCapabilities, ModelInfo } from "./backend";
import { completeChat, type UpstreamChunk, type UpstreamToolCall } from "./complete-chat";
import {
  argumentsText,
  choiceSeed,
  openAiMessages,
  openAiOptionalFields,
  toolCallPieces,
  WireDelta,
  WireMessage,
  WireToolCall,
} from "./openai-wire";
import { readServerSentEvents } from "./sse";
import { estimateTokens } from "./token-estimate";

/**
 * What a Workers AI chat model does, as its catalog entry (cloudflare/cloudflare-docs,
 * src/content/workers-ai-models/*.json) documents it: its `context_window`, and tools where it
 * has the `function_calling` property. JSON mode (`response_format`) is in the input schema of
 * every model here (and llama-3.3-70b-instruct-fp8-fast is on the JSON mode page). The catalog
 * gives no output limit: 16384 tokens is our cap, 8192 for the 24k-context Llama. Logprobs are
 * off: Workers AI documents no logprobs output for these models. Images are off: this backend
 * does not map image input. `n` is capped at 8 because each choice is a run of its own.
 */
const chatCapabilities = (contextWindow: number, maxOutputTokens = 16_384): ModelCapabilities => ({
  contextWindow,
  maxOutputTokens,
  tools: true,
  jsonSchema: true,
  logprobs: false,
  images: false,
  maxChoices: 8,
});

const chat = (
  id: string,
  ownedBy: string,
  created: number,
  capabilities: ModelCapabilities,
): ModelInfo => ({
  id,
  backend: "workers-ai",
  kind: "chat",
  deterministic: false,
  ownedBy,
  created,
  capabilities,
});

/** An embedding model: its input limit in tokens and the length of its vectors. */
const embedding = (
  id: string,
  ownedBy: string,
  created: number,
  contextWindow: number,
  embeddingDimensions: { default: number; shortenable: boolean },
): ModelInfo => ({
  ...chat(id, ownedBy, created, {
    contextWindow,
    maxOutputTokens: 0,
    tools: false,
    jsonSchema: false,
    logprobs: false,
    images: false,
    maxChoices: 1,
    embeddingDimensions,
  }),
  kind: "embedding",
});

/**
 * The Workers AI models Verity serves, by their native `@cf/...` names. None is deterministic:
 * Workers AI makes no bit-exact replay guarantee, even with a seed.
 *
 * Curated in November 2026 against the Cloudflare docs (cloudflare/cloudflare-docs):
 * - changelog 2026-05-08 "Planned model deprecations on Workers AI": eighteen older models,
 *   most Llama 2/3/3.1 8B variants among them (and hermes-2-pro-mistral-7b), were removed on
 *   2026-05-30. Its recommended replacements (glm-4.7-flash, gemma-4-26b-a4b-it, kimi-k2.6) are
 *   here, as is llama-3.3-70b-instruct-fp8-fast, which it lists as remaining active.
 * - changelog 2026-07-28: kimi-k2.6 needs the Workers Paid plan (glm-4.7-flash, gemma-4 and
 *   nemotron-3 stay on Free); 2026-08-14 deepseek-v4, 2026-08-17 qwen3.8-27b and 2026-08-26
 *   glm-5.3-flash (Paid) are the latest additions.
 * `created` is the catalog's `created_at` (src/content/workers-ai-models/*.json) where it gives
 * one, else the midnight (UTC) of the changelog announcing the model. Context windows are the
 * catalog's `context_window` (deepseek-v4 and qwen3.8: their changelog entries).
 *
 * Embeddings: bge-base-en-v1.5 makes 768-dimensional vectors from at most 512 tokens and was not
 * trained to be shortened; embeddinggemma-300m makes 768-dimensional vectors from at most 2048
 * tokens and was trained with Matryoshka representation learning, so a prefix of its vector,
 * renormalised, is a smaller embedding (Google's EmbeddingGemma docs): `dimensions` shortens it.
 */
export const WORKERS_AI_MODELS: readonly ModelInfo[] = Object.freeze([
  chat("@cf/zai-org/glm-4.7-flash", "zai-org", 1769616279, chatCapabilities(131_072)),
  chat("@cf/google/gemma-4-26b-a4b-it", "google", 1775142322, chatCapabilities(256_000)),
  chat("@cf/nvidia/nemotron-3-120b-a12b", "nvidia", 1771975367, chatCapabilities(256_000)),
  chat("@cf/openai/gpt-oss-120b", "openai", 1754389649, chatCapabilities(128_000)),
  chat("@cf/openai/gpt-oss-20b", "openai", 1754352000, chatCapabilities(128_000)),
  chat(
    "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "meta",
    1733504958,
    chatCapabilities(24_000, 8192),
  ),
  chat("@cf/moonshotai/kimi-k2.6", "moonshotai", 1776643200, chatCapabilities(262_144)),
  chat("@cf/qwen/qwen3.8-27b", "qwen", 1786924800, chatCapabilities(262_144)),
  chat(
    "@cf/deepseek-ai/deepseek-v4-flash-0731",
    "deepseek-ai",
    1786665600,
    chatCapabilities(1_048_576),
  ),
  chat("@cf/zai-org/glm-5.3-flash", "zai-org", 1787702400, chatCapabilities(1_310_720)),
  embedding("@cf/baai/bge-base-en-v1.5", "baai", 1695669671, 512, {
    default: 768,
    shortenable: false,
  }),
  embedding("@cf/google/embeddinggemma-300m", "google", 1756932518, 2048, {
    default: 768,
    shortenable: true,
  }),
]);

/**
 * Models whose input schema is Workers AI's own rather than OpenAI's Chat Completions:
 * - tools are `{ type: "function", function: { name, description, parameters } }` with
 *   `description` required, and `parameters` an object schema whose every property has a string
 *   `type` and a `description` (catalog schema of llama-3.3-70b-instruct-fp8-fast);
 * - there is no `tool_choice`, `parallel_tool_calls` nor `logit_bias`;
 * - JSON mode is `response_format: { type: "json_schema", json_schema: <the schema itself> }`,
 *   and the answer's `response` is then the parsed JSON value, not text; it does not stream
 *   (https://developers.cloudflare.com/workers-ai/features/json-mode/);
 * - the answer is `{ response, tool_calls: [{ name, arguments: {...} }], usage }`; a call made
 *   earlier is replayed as an assistant message whose content is that call as JSON, and its
 *   result as a `tool` message (the traditional function calling example,
 *   https://developers.cloudflare.com/workers-ai/features/function-calling/).
 * Every other chat model here takes OpenAI's Chat Completions input (`ChatCompletionsInput` in
 * the binding's types) and answers in its shape.
 */
const WORKERS_AI_SCHEMA_MODELS: ReadonlySet<string> = new Set([
  "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
]);

/** Options of {@link createWorkersAiBackend}. */
export interface WorkersAiBackendOptions {
  /**
   * Ask Workers AI to stream (the default). Deltas then reach the client as they are
   * generated; without it the whole answer arrives at once as one delta.
   */
  stream?: boolean;
}

// The model schemas take seeds in [1, 9_999_999_999]; anything else fails input validation.
const MAX_SEED = 9_999_999_999;
// bge embedding models take at most 100 texts per run (catalog schema: text.maxItems).
const EMBEDDING_BATCH = 100;

/**
 * A backend over the native Workers AI binding (`env.AI`). Chat runs with `messages` and
 * streams by default; both output shapes Workers AI produces are understood, the classic
 * `{ response }` and OpenAI's `{ choices }`. `stop` is applied here, since most Workers AI
 * models do not take it. Failures become `VerityError`s (see `toVerityError`).
 *
 * Tools and `response_format` are mapped to each model's schema (see
 * `WORKERS_AI_SCHEMA_MODELS`); a request with `response_format`, or with tools for a model of
 * Workers AI's own schema, runs unstreamed, since JSON mode does not stream and the docs show
 * tool calls only in whole answers. Each of the request's `n` choices is a run of its own with a
 * seed of its own (`choiceSeed`). The gateway refuses what a model's capabilities rule out
 * before calling; this backend refuses it again (400) rather than send what would be ignored.
 */
export function createWorkersAiBackend(ai: Ai, options: WorkersAiBackendOptions = {}): Backend {
  const stream = options.stream ?? true;
  return {
    name: "workers-ai",
    async *chat(model, input, { signal, choice } = {}) {
      const ownSchema = WORKERS_AI_SCHEMA_MODELS.has(model.id);
      refuseUnsupported(model, input, ownSchema);
      const streamed = stream && !input.response_format && !(ownSchema && input.tools);
      const inputs = ownSchema
        ? workersAiSchemaInputs(input, streamed, choice)
        : chatCompletionsInputs(input, streamed, choice);
      let output: unknown;
      try {
        output = await ai.run(upstreamName(model), inputs, { signal });
      } catch (error) {
        throw toVerityError(error, model, signal);
      }
      // Workers AI's own schema has no parallel_tool_calls: false keeps only the first call.
      const maxCalls = input.parallel_tool_calls === false ? 1 : Number.POSITIVE_INFINITY;
      const chunks =
        output instanceof ReadableStream
          ? streamedChunks(output, signal)
          : [answerChunk(output, maxCalls)];
      yield* completeChat(chunks, input);
    },
    async embed(model, request, signal) {
      const { input, dimensions } = request;
      const shortened = shortenedLength(model, dimensions);
      const embeddings: number[][] = [];
      let promptTokens = 0;
      for (let start = 0; start < input.length; start += EMBEDDING_BATCH) {
        const batch = input.slice(start, start + EMBEDDING_BATCH);
        let output: unknown;
        try {
          output = await ai.run(upstreamName(model), { text: batch }, { signal });
        } catch (error) {
          throw toVerityError(error, model, signal);
        }
        const result = parseEmbeddings(output, batch);
        embeddings.push(
          ...(shortened === undefined
            ? result.vectors
            : result.vectors.map((vector) => shorten(vector, shortened))),
        );
        // Workers AI embedding models report no usage today; estimate rather than bill nothing.
        promptTokens +=
          result.promptTokens ?? batch.reduce((sum, text) => sum + estimateTokens(text), 0);
      }
      return { embeddings, usage: { promptTokens } };
    },
  };
}

const upstreamName = (model: ModelInfo) => model.upstreamId ?? model.id;

/** Refuses, as the gateway would have, what `model` cannot do. */
function refuseUnsupported(model: ModelInfo, input: ChatInput, ownSchema: boolean): void {
  const { capabilities } = model;
  const cannot = (what: string, param: string) =>
    invalidRequest(`The model '${model.id}' does not support ${what}.`, param, "unsupported_value");
  if (input.logprobs && !capabilities.logprobs) throw cannot("logprobs", "logprobs");
  if (input.tools && !capabilities.tools) throw cannot("tools", "tools");
  if (input.response_format && !capabilities.jsonSchema) {
    throw cannot(`response_format '${input.response_format.type}'`, "response_format");
  }
  if (!ownSchema) return;
  if (input.logit_bias) throw cannot("logit_bias", "logit_bias");
  const choice = input.tools ? input.tool_choice : undefined;
  if (choice === "required" || typeof choice === "object") {
    throw cannot(
      `tool_choice '${typeof choice === "object" ? choice.function.name : choice}': it chooses whether to call a tool itself`,
      "tool_choice",
    );
  }
}

/** The sampling fields every chat model takes; an out-of-range seed (0) is left out. */
function samplingInputs(
  input: ChatInput,
  stream: boolean,
  choice: number | undefined,
): Record<string, unknown> {
  const seed = choiceSeed(input.seed, choice);
  // Omitting an out-of-range seed (0) loses nothing: Workers AI never promised replay.
  const seeded = seed >= 1 && seed <= MAX_SEED;
  return {
    max_tokens: input.max_tokens,
    temperature: input.temperature,
    top_p: input.top_p,
    ...(seeded ? { seed } : {}),
    stream,
  };
}

/** Inputs of a model that takes OpenAI's Chat Completions request. */
function chatCompletionsInputs(
  input: ChatInput,
  stream: boolean,
  choice: number | undefined,
): Record<string, unknown> {
  return {
    messages: openAiMessages(input.messages),
    ...samplingInputs(input, stream, choice),
    ...openAiOptionalFields(input),
  };
}

/** Inputs of a model of Workers AI's own schema (see `WORKERS_AI_SCHEMA_MODELS`). */
function workersAiSchemaInputs(
  input: ChatInput,
  stream: boolean,
  choice: number | undefined,
): Record<string, unknown> {
  const inputs: Record<string, unknown> = {
    messages: input.messages.map(workersAiSchemaMessage),
    ...samplingInputs(input, stream, choice),
  };
  if (input.frequency_penalty !== undefined) inputs.frequency_penalty = input.frequency_penalty;
  if (input.presence_penalty !== undefined) inputs.presence_penalty = input.presence_penalty;
  // "none" is met by offering no tool; "auto" is what the model does anyway.
  if (input.tools && input.tool_choice !== "none") {
    inputs.tools = input.tools.map(workersAiSchemaTool);
  }
  if (input.response_format) inputs.response_format = workersAiJsonMode(input.response_format);
  return inputs;
}

/** A message as the traditional function calling example replays tool calls and results. */
function workersAiSchemaMessage(message: ChatMessage): { role: string; content: string } {
  if (message.role === "assistant" && message.tool_calls) {
    const calls = message.tool_calls.map((call) =>
      JSON.stringify({ name: call.function.name, arguments: parseJson(call.function.arguments) }),
    );
    return { role: "assistant", content: [message.content, ...calls].filter(Boolean).join("\n") };
  }
  return { role: message.role, content: message.content };
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/**
 * A tool in Workers AI's schema, which requires a description of the function and of each of
 * its parameters, and `type` and `properties` on its parameters: OpenAI's leave them optional,
 * so absent ones are written empty. Anything else of the schema goes as the caller wrote it.
 */
function workersAiSchemaTool(tool: FunctionTool): Record<string, unknown> {
  const parameters: Record<string, unknown> = {
    type: "object",
    ...tool.function.parameters,
  };
  const properties = parameters.properties;
  parameters.properties =
    typeof properties === "object" && properties !== null && !Array.isArray(properties)
      ? Object.fromEntries(
          Object.entries(properties).map(([name, property]) => [
            name,
            typeof property === "object" && property !== null && !Array.isArray(property)
              ? { description: "", ...property }
              : property,
          ]),
        )
      : {};
  return {
    type: "function",
    function: {
      name: tool.function.name,
      description: tool.function.description ?? "",
      parameters,
    },
  };
}

/** JSON mode as Workers AI's schema spells it: `json_schema` is the schema itself. */
function workersAiJsonMode(format: ResponseFormat): Record<string, unknown> {
  if (format.type === "json_object") return { type: "json_object" };
  return { type: "json_schema", json_schema: format.json_schema.schema ?? { type: "object" } };
}

// Workers AI's usage objects; per-chunk ones in the OpenAI shape may carry zero prompt tokens
// (`{"prompt_tokens":0,"completion_tokens":1}`) before the final chunk reports the totals.
const Usage = z.object({
  prompt_tokens: z.number().int().nonnegative().optional(),
  completion_tokens: z.number().int().nonnegative().optional(),
});

const StreamEvent = z.object({
  response: z.string().nullish(),
  choices: z
    .array(z.object({ delta: WireDelta.nullish(), finish_reason: z.string().nullish() }))
    .nullish(),
  finish_reason: z.string().nullish(),
  usage: Usage.nullish(),
});

// A tool call of Workers AI's own answer shape, `{ name, arguments: {...} }`.
const WorkersAiToolCall = z.object({
  name: z.string(),
  arguments: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish(),
});

const Answer = z.object({
  // Text, or in JSON mode the JSON value itself.
  response: z
    .union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())])
    .nullish(),
  tool_calls: z.array(z.union([WorkersAiToolCall, WireToolCall])).nullish(),
  choices: z
    .array(z.object({ message: WireMessage.nullish(), finish_reason: z.string().nullish() }))
    .nullish(),
  usage: Usage.nullish(),
});

function usageOf(usage: z.infer<typeof Usage> | null | undefined): UpstreamChunk["usage"] {
  if (!usage?.prompt_tokens) return undefined;
  return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
}

async function* streamedChunks(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
): AsyncGenerator<UpstreamChunk, void, undefined> {
  let finished = false;
  try {
    for await (const { data } of readServerSentEvents(body, signal)) {
      if (data === "[DONE]") return;
      const event = parseEvent(data);
      const choice = event.choices?.[0];
      const finishReason = choice?.finish_reason ?? event.finish_reason ?? undefined;
      if (finishReason) finished = true;
      yield {
        text: (event.response ?? "") + (choice?.delta?.content ?? ""),
        toolCalls: toolCallPieces(choice?.delta?.tool_calls),
        usage: usageOf(event.usage),
        finishReason,
      };
    }
  } catch (error) {
    if (error instanceof VerityError) throw error;
    if (signal?.aborted) throw signal.reason;
    throw upstreamError("The Workers AI stream broke off.", { cause: error });
  }
  if (!finished) throw upstreamError("The Workers AI stream ended before the answer was complete.");
}

function parseEvent(data: string): z.infer<typeof StreamEvent> {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch (error) {
    throw upstreamError("Workers AI sent a malformed stream event.", {
      cause: error,
      details: { event: data.slice(0, 200) },
    });
  }
  const error = z.object({ error: z.unknown() }).safeParse(json);
  if (error.success && error.data.error != null) {
    throw upstreamError(`Workers AI failed mid-stream: ${describe(error.data.error)}`, {
      details: { event: data.slice(0, 500) },
    });
  }
  const event = StreamEvent.safeParse(json);
  if (!event.success) {
    throw upstreamError("Workers AI sent a stream event Verity does not understand.", {
      details: { event: data.slice(0, 200), issues: event.error.issues },
    });
  }
  return event.data;
}

/** A whole answer, in either shape, keeping at most `maxCalls` tool calls. */
function answerChunk(output: unknown, maxCalls: number): UpstreamChunk {
  const answer = Answer.safeParse(output);
  if (!answer.success) {
    throw upstreamError("Workers AI answered in a shape Verity does not understand.", {
      details: { issues: answer.error.issues },
    });
  }
  const { response, tool_calls } = answer.data;
  const choice = answer.data.choices?.[0];
  const text =
    response == null
      ? (choice?.message?.content ?? "")
      : typeof response === "string"
        ? response
        : JSON.stringify(response);
  const calls = tool_calls?.length
    ? tool_calls.map(
        (call, index): UpstreamToolCall =>
          "name" in call && typeof call.name === "string"
            ? { index, name: call.name, arguments: argumentsText(call.arguments) }
            : (toolCallPieces([{ ...call, index }])?.[0] ?? { index, arguments: "" }),
      )
    : toolCallPieces(choice?.message?.tool_calls);
  return {
    text,
    toolCalls: calls?.slice(0, maxCalls),
    usage: usageOf(answer.data.usage),
    finishReason: choice?.finish_reason ?? undefined,
  };
}

/**
 * The length to shorten `model`'s vectors to, or undefined to keep them whole. Refuses a
 * `dimensions` the model cannot honour, as the gateway would have.
 */
function shortenedLength(model: ModelInfo, dimensions: number | undefined): number | undefined {
  const length = model.capabilities.embeddingDimensions;
  if (dimensions === undefined || dimensions === length?.default) return undefined;
  if (!length) {
    throw invalidRequest(`The model '${model.id}' cannot shorten its vectors.`, "dimensions");
  }
  if (!length.shortenable || dimensions > length.default) {
    const range = length.shortenable ? `1 to ${length.default}` : `${length.default}`;
    throw invalidRequest(
      `The model '${model.id}' makes ${length.default}-dimensional vectors; dimensions must be ${range}.`,
      "dimensions",
    );
  }
  return dimensions;
}

/** A Matryoshka embedding's first `length` components, renormalised to unit length. */
function shorten(vector: readonly number[], length: number): number[] {
  const prefix = vector.slice(0, length);
  const norm = Math.hypot(...prefix);
  return norm > 0 ? prefix.map((x) => x / norm) : prefix;
}

const Embeddings = z.object({
  data: z.array(z.array(z.number())),
  usage: Usage.nullish(),
});

function parseEmbeddings(
  output: unknown,
  input: readonly string[],
): { vectors: number[][]; promptTokens: number | undefined } {
  const parsed = Embeddings.safeParse(output);
  if (!parsed.success || parsed.data.data.length !== input.length) {
    throw upstreamError("Workers AI answered an embedding request in an unexpected shape.", {
      details: parsed.success ? { expected: input.length, got: parsed.data.data.length } : {},
    });
  }
  return { vectors: parsed.data.data, promptTokens: parsed.data.usage?.prompt_tokens };
}

type Failure = "model" | "input" | "context" | "content" | "size" | "busy" | "timeout";

/**
 * Workers AI internal error codes, from https://developers.cloudflare.com/workers-ai/platform/errors/
 * plus codes seen in binding errors in the wild: 5006 (schema validation, "oneOf at '/' not
 * met"), 8001 ("Invalid input"), 1001 (InvalidInput, workerd's own tests), 5021/3010 (context
 * window exceeded), 3030 (content filtered). Codes absent here (account, plan, SDK and LoRA
 * problems such as 5018, 5016, 3023, 3041, 5035, 5019, 5005, 3003) are this gateway's fault: 502.
 */
const FAILURES: ReadonlyMap<number, Failure> = new Map([
  [5007, "model"],
  [3042, "model"],
  [5006, "input"],
  [8001, "input"],
  [1001, "input"],
  [5004, "input"],
  [5021, "context"],
  [3010, "context"],
  [3030, "content"],
  [3006, "size"],
  [3040, "busy"],
  [3036, "busy"],
  [3007, "timeout"],
]);

/**
 * Maps what `env.AI.run` threw to a `VerityError`. The binding throws errors whose message is
 * `"<code>: <description>"`, sometimes prefixed (`"AiError: 5006: Error: oneOf ..."`); the code
 * decides the status. An abort by our caller is passed through untouched.
 */
function toVerityError(error: unknown, model: ModelInfo, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason;
  const message = error instanceof Error ? error.message : String(error);
  const match = /\b(\d{4})\s*:\s*(.*)$/s.exec(message);
  const code = match ? Number(match[1]) : undefined;
  const description = cleanDescription(match?.[2] ?? message);
  const details = { workersAiCode: code, workersAiMessage: message.slice(0, 500) };
  let failure = code === undefined ? undefined : FAILURES.get(code);
  if (!failure && /capacity|too many requests|rate limit/i.test(message)) failure = "busy";
  const rejected = (text: string, code: string, param: string | null = null) =>
    new VerityError(text, {
      status: 400,
      type: "invalid_request_error",
      code,
      param,
      cause: error,
      details,
    });
  switch (failure) {
    case "model":
      return new VerityError(`The model '${model.id}' is not available on Workers AI.`, {
        status: 404,
        type: "invalid_request_error",
        code: "model_not_found",
        param: "model",
        cause: error,
        details,
      });
    case "input":
      return rejected(`Workers AI rejected the request: ${description}`, "invalid_value");
    case "context":
      return rejected(
        `The request does not fit the model's context window: ${description}`,
        "context_length_exceeded",
        "messages",
      );
    case "content":
      return rejected(
        `Workers AI refused the content: ${description}`,
        "content_policy_violation",
        "messages",
      );
    case "size":
      return new VerityError("The request is too large for Workers AI.", {
        status: 413,
        type: "invalid_request_error",
        code: "request_too_large",
        cause: error,
        details,
      });
    case "busy":
      return upstreamError(
        "Workers AI is out of capacity or rate limited for this model; retry shortly.",
        { status: 503, cause: error, details },
      );
    case "timeout":
      return upstreamError("Workers AI timed out running the model.", {
        status: 504,
        cause: error,
        details,
      });
    default:
      return upstreamError("Workers AI failed to run the model.", { cause: error, details });
  }
}

function cleanDescription(text: string): string {
  const cleaned = text.replace(/^(?:(?:Ai)?Error:\s*)+/i, "").trim();
  return cleaned.length > 300 ? `${cleaned.slice(0, 300)}…` : cleaned;
}

function describe(error: unknown): string {
  if (typeof error === "string") return cleanDescription(error);
  const message = z.object({ message: z.string() }).safeParse(error);
  return message.success ? cleanDescription(message.data.message) : "unknown error";
}
