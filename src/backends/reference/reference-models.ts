import type { ModelCapabilities, ModelInfo } from "../backend";
import { EMBEDDING_DIMENSIONS } from "./embed-text";

/** The word trigram chat model built from WordNet glosses. */
export const REFERENCE_CHAT_MODEL = "verity-ngram-1";
/** The feature-hashing embedding model. */
export const REFERENCE_EMBEDDING_MODEL = "verity-embed-1";

// 2026-01-01T00:00:00Z: a fixed date, so `/v1/models` is the same on every node.
const CREATED = 1_767_225_600;

/**
 * What verity-ngram-1 does. It has no attention window: the context is only a cap on what a
 * request may carry. It really decodes JSON to a schema, calls tools and reports logprobs
 * (see README.md), and it has no eyes.
 */
const CHAT_CAPABILITIES: ModelCapabilities = {
  contextWindow: 131_072,
  maxOutputTokens: 16_384,
  tools: true,
  jsonSchema: true,
  logprobs: true,
  images: false,
  maxChoices: 16,
};

const EMBEDDING_CAPABILITIES: ModelCapabilities = {
  contextWindow: 131_072,
  maxOutputTokens: 0,
  tools: false,
  jsonSchema: false,
  logprobs: false,
  images: false,
  maxChoices: 1,
  embeddingDimensions: { default: EMBEDDING_DIMENSIONS, shortenable: true },
};

/** The models of the reference backend: both are deterministic, so verifiers can re-run them. */
export const REFERENCE_MODELS: ModelInfo[] = [
  {
    id: REFERENCE_CHAT_MODEL,
    backend: "reference",
    kind: "chat",
    deterministic: true,
    ownedBy: "verity",
    created: CREATED,
    capabilities: CHAT_CAPABILITIES,
  },
  {
    id: REFERENCE_EMBEDDING_MODEL,
    backend: "reference",
    kind: "embedding",
    deterministic: true,
    ownedBy: "verity",
    created: CREATED,
    capabilities: EMBEDDING_CAPABILITIES,
  },
];
