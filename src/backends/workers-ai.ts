import { z } from "zod";
import { upstreamError, VerityError } from "../errors";
import type { Backend, ChatInput, ModelInfo } from "./backend";
import { completeChat, type UpstreamChunk } from "./complete-chat";
import { readServerSentEvents } from "./sse";
import { estimateTokens } from "./token-estimate";

const chat = (id: string, ownedBy: string, created: number): ModelInfo => ({
  id,
  backend: "workers-ai",
  kind: "chat",
  deterministic: false,
  ownedBy,
  created,
});
const embedding = (id: string, ownedBy: string, created: number): ModelInfo => ({
  ...chat(id, ownedBy, created),
  kind: "embedding",
});

/**
 * The Workers AI models Verity serves, by their native `@cf/...` names. None is deterministic:
 * Workers AI makes no bit-exact replay guarantee, even with a seed.
 *
 * Curated in November 2026 against the Cloudflare docs (cloudflare/cloudflare-docs):
 * - changelog 2026-05-08 "Planned model deprecations on Workers AI": eighteen older models,
 *   most Llama 2/3/3.1 8B variants among them, were removed on 2026-05-30. Its recommended
 *   replacements (glm-4.7-flash, gemma-4-26b-a4b-it, kimi-k2.6) are here, as is
 *   llama-3.3-70b-instruct-fp8-fast, which it lists as remaining active.
 * - changelog 2026-07-28: kimi-k2.6 needs the Workers Paid plan (glm-4.7-flash, gemma-4 and
 *   nemotron-3 stay on Free); 2026-08-14 deepseek-v4, 2026-08-17 qwen3.8-27b and 2026-08-26
 *   glm-5.3-flash (Paid) are the latest additions.
 * `created` is the catalog's `created_at` (src/content/workers-ai-models/*.json) where it gives
 * one, else the midnight (UTC) of the changelog announcing the model.
 */
export const WORKERS_AI_MODELS: readonly ModelInfo[] = Object.freeze([
  chat("@cf/zai-org/glm-4.7-flash", "zai-org", 1769616279),
  chat("@cf/google/gemma-4-26b-a4b-it", "google", 1775142322),
  chat("@cf/nvidia/nemotron-3-120b-a12b", "nvidia", 1771975367),
  chat("@cf/openai/gpt-oss-120b", "openai", 1754389649),
  chat("@cf/openai/gpt-oss-20b", "openai", 1754352000),
  chat("@cf/meta/llama-3.3-70b-instruct-fp8-fast", "meta", 1733504958),
  chat("@cf/moonshotai/kimi-k2.6", "moonshotai", 1776643200),
  chat("@cf/qwen/qwen3.8-27b", "qwen", 1786924800),
  chat("@cf/deepseek-ai/deepseek-v4-flash-0731", "deepseek-ai", 1786665600),
  chat("@cf/zai-org/glm-5.3-flash", "zai-org", 1787702400),
  embedding("@cf/baai/bge-base-en-v1.5", "baai", 1695669671),
  embedding("@cf/google/embeddinggemma-300m", "google", 1756932518),
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
 */
export function createWorkersAiBackend(ai: Ai, options: WorkersAiBackendOptions = {}): Backend {
  const stream = options.stream ?? true;
  return {
    name: "workers-ai",
    async *chat(model, input, signal) {
      let output: unknown;
      try {
        output = await ai.run(upstreamName(model), chatInputs(input, stream), { signal });
      } catch (error) {
        throw toVerityError(error, model, signal);
      }
      const chunks =
        output instanceof ReadableStream ? streamedChunks(output, signal) : [answerChunk(output)];
      yield* completeChat(chunks, input);
    },
    async embed(model, input, signal) {
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
        embeddings.push(...result.vectors);
        // Workers AI embedding models report no usage today; estimate rather than bill nothing.
        promptTokens +=
          result.promptTokens ?? batch.reduce((sum, text) => sum + estimateTokens(text), 0);
      }
      return { embeddings, usage: { promptTokens } };
    },
  };
}

const upstreamName = (model: ModelInfo) => model.upstreamId ?? model.id;

function chatInputs(input: ChatInput, stream: boolean): Record<string, unknown> {
  const seeded = Number.isInteger(input.seed) && input.seed >= 1 && input.seed <= MAX_SEED;
  return {
    messages: input.messages,
    max_tokens: input.max_tokens,
    temperature: input.temperature,
    top_p: input.top_p,
    // Omitting an out-of-range seed (0) loses nothing: Workers AI never promised replay.
    ...(seeded ? { seed: input.seed } : {}),
    stream,
  };
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
    .array(
      z.object({
        delta: z.object({ content: z.string().nullish() }).nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  finish_reason: z.string().nullish(),
  usage: Usage.nullish(),
});

const Answer = z.object({
  response: z.string().nullish(),
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullish() }).nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
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

function answerChunk(output: unknown): UpstreamChunk {
  const answer = Answer.safeParse(output);
  if (!answer.success) {
    throw upstreamError("Workers AI answered in a shape Verity does not understand.", {
      details: { issues: answer.error.issues },
    });
  }
  const choice = answer.data.choices?.[0];
  return {
    text: answer.data.response ?? choice?.message?.content ?? "",
    usage: usageOf(answer.data.usage),
    finishReason: choice?.finish_reason ?? undefined,
  };
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
