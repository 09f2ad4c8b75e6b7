import type { ChatMessage } from "@verity/protocol/request";

/**
 * A chat request as every backend receives it: defaults resolved, `seed` always set,
 * `stop` always an array. This is exactly the object hashed into a receipt's `requestHash`
 * (see `NormalizedChatRequest` in the protocol module), so a verifier can re-execute it.
 */
export interface ChatInput {
  model: string;
  messages: ChatMessage[];
  temperature: number;
  top_p: number;
  max_tokens: number;
  seed: number;
  stop: string[];
}

export type FinishReason = "stop" | "length";

/** One event of a generation. A backend yields deltas, then exactly one `done`. */
export type ChatEvent =
  | { type: "delta"; text: string }
  | {
      type: "done";
      finishReason: FinishReason;
      usage: { promptTokens: number; completionTokens: number };
    };

export interface EmbeddingResult {
  embeddings: number[][];
  usage: { promptTokens: number };
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
}

export type BackendName = "reference" | "workers-ai" | "openai-compatible";

/**
 * The one interface every model source implements. Errors are thrown as `VerityError`
 * (see src/errors.ts): `UpstreamError` for a failed or unavailable backend.
 */
export interface Backend {
  readonly name: BackendName;
  /** Streams a completion. Non-streamed responses collect the same events. */
  chat(model: ModelInfo, input: ChatInput, signal?: AbortSignal): AsyncIterable<ChatEvent>;
  embed(model: ModelInfo, input: string[], signal?: AbortSignal): Promise<EmbeddingResult>;
}
