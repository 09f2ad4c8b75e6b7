import type { NormalizedChatRequest, NormalizedEmbeddingRequest } from "@verity/protocol/request";
import type { ChosenTokenLogprob } from "@verity/protocol/response";

/**
 * A chat request as every backend receives it: defaults resolved, `seed` always set,
 * `stop` always an array. This is exactly the object hashed into a receipt's `requestHash`
 * (see `NormalizedChatRequest` in the protocol module), so a verifier can re-execute it.
 */
export type ChatInput = Omit<NormalizedChatRequest, "kind">;

/** An embedding request as every backend receives it (see `NormalizedEmbeddingRequest`). */
export type EmbeddingInput = Omit<NormalizedEmbeddingRequest, "kind">;

export type FinishReason = "stop" | "length" | "tool_calls";

/**
 * One event of a generation. A backend yields deltas, then exactly one `done`.
 * - `delta`: text, with the log-probability of each token in it when the request asked;
 * - `tool_call`: a piece of the `index`th tool call: its id and name come in its first piece,
 *   its JSON arguments in pieces that join to the whole.
 */
export type ChatEvent =
  | { type: "delta"; text: string; logprobs?: ChosenTokenLogprob[] }
  | { type: "tool_call"; index: number; id?: string; name?: string; arguments: string }
  | {
      type: "done";
      finishReason: FinishReason;
      usage: { promptTokens: number; completionTokens: number };
    };

/** Per-call options of `Backend.chat`. */
export interface ChatOptions {
  signal?: AbortSignal;
  /**
   * Which of the request's `n` choices to generate, from 0. Each choice is generated on its own
   * and is reproducible from the request and its index alone.
   */
  choice?: number;
}

export interface EmbeddingResult {
  embeddings: number[][];
  usage: { promptTokens: number };
}

/**
 * What a model can do, as `/v1/models` declares it and the gateway enforces it. Token limits
 * count the model's own tokens.
 */
export interface ModelCapabilities {
  /** Prompt and completion tokens together. */
  contextWindow: number;
  /** The largest `max_tokens` (or `max_completion_tokens`) a request may ask for. */
  maxOutputTokens: number;
  tools: boolean;
  /** `response_format` json_object and json_schema. */
  jsonSchema: boolean;
  logprobs: boolean;
  /** Image parts in messages. */
  images: boolean;
  /** The largest `n`. */
  maxChoices: number;
  /** Embedding models: the length of a vector, and whether `dimensions` may shorten it. */
  embeddingDimensions?: { default: number; shortenable: boolean };
}

/** What a model is served by. `deterministic` models can be re-executed bit for bit. */
export interface ModelInfo {
  id: string;
  backend: BackendName;
  kind: "chat" | "embedding";
  deterministic: boolean;
  /** The name the backend knows the model by, when it differs from `id`. */
  upstreamId?: string;
  ownedBy: string;
  created: number;
  capabilities: ModelCapabilities;
}

export type BackendName = "reference" | "workers-ai" | "openai-compatible";

/**
 * The one interface every model source implements. Errors are thrown as `VerityError`
 * (see src/errors.ts): `UpstreamError` for a failed or unavailable backend.
 */
export interface Backend {
  readonly name: BackendName;
  /** Streams a completion. Non-streamed responses collect the same events. */
  chat(model: ModelInfo, input: ChatInput, options?: ChatOptions): AsyncIterable<ChatEvent>;
  embed(model: ModelInfo, input: EmbeddingInput, signal?: AbortSignal): Promise<EmbeddingResult>;
}
