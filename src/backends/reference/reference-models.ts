import type { ModelInfo } from "../backend";

/** The word trigram chat model built from WordNet glosses. */
export const REFERENCE_CHAT_MODEL = "verity-ngram-1";
/** The feature-hashing embedding model. */
export const REFERENCE_EMBEDDING_MODEL = "verity-embed-1";

// 2026-01-01T00:00:00Z: a fixed date, so `/v1/models` is the same on every node.
const CREATED = 1_767_225_600;

/** The models of the reference backend: both are deterministic, so verifiers can re-run them. */
export const REFERENCE_MODELS: ModelInfo[] = [
  {
    id: REFERENCE_CHAT_MODEL,
    backend: "reference",
    kind: "chat",
    deterministic: true,
    ownedBy: "verity",
    created: CREATED,
  },
  {
    id: REFERENCE_EMBEDDING_MODEL,
    backend: "reference",
    kind: "embedding",
    deterministic: true,
    ownedBy: "verity",
    created: CREATED,
  },
];
