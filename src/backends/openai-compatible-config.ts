import { z } from "zod";
import type { ModelCapabilities, ModelInfo } from "./backend";

/** The openai-compatible backend's settings, as read from the gateway's environment. */
export interface OpenAiCompatibleConfig {
  /** `OPENAI_COMPAT_URL`, trimmed; empty when no upstream is configured. */
  baseUrl: string;
  /** The optional secret `OPENAI_COMPAT_API_KEY`. */
  apiKey: string | undefined;
  models: ModelInfo[];
}

/** A gateway misconfiguration: the operator's bug, never the caller's. */
export class ConfigurationError extends Error {
  override readonly name = "ConfigurationError";
}

// `wrangler types` cannot declare an optional secret, so `Env` has no such key: it is read
// reflectively here, and only here.
const ApiKey = z.string().optional();

/**
 * Reads `OPENAI_COMPAT_URL`, `OPENAI_COMPAT_MODELS` and the optional secret
 * `OPENAI_COMPAT_API_KEY`. Throws a `ConfigurationError` for a malformed URL or model list.
 */
export function openAiCompatibleConfigFromEnv(
  env: Pick<Env, "OPENAI_COMPAT_URL" | "OPENAI_COMPAT_MODELS">,
): OpenAiCompatibleConfig {
  const baseUrl = env.OPENAI_COMPAT_URL.trim();
  if (baseUrl && !URL.canParse(baseUrl)) {
    throw new ConfigurationError(`OPENAI_COMPAT_URL is not a URL: '${baseUrl}'.`);
  }
  if (baseUrl && !/^https?:$/.test(new URL(baseUrl).protocol)) {
    throw new ConfigurationError(`OPENAI_COMPAT_URL must be http(s): '${baseUrl}'.`);
  }
  return {
    baseUrl,
    apiKey: openAiCompatibleApiKey(env),
    models: parseOpenAiCompatibleModels(env.OPENAI_COMPAT_MODELS),
  };
}

/** The optional secret `OPENAI_COMPAT_API_KEY`; undefined when unset or blank. */
export function openAiCompatibleApiKey(env: object): string | undefined {
  const apiKey = ApiKey.safeParse(Reflect.get(env, "OPENAI_COMPAT_API_KEY"));
  if (!apiKey.success) throw new ConfigurationError("OPENAI_COMPAT_API_KEY must be a string.");
  return apiKey.data?.trim() || undefined;
}

// Ollama tags contain ':' ("llama3.2:3b"), Hugging Face ids '/' ("Qwen/Qwen3-8B").
const MODEL_NAME = /^[\w.:/@+-]+$/;

/**
 * What a configured chat model is taken to do when its entry says nothing else: what current
 * OpenAI-compatible servers (vLLM, llama.cpp, Ollama) do for instruction-tuned models. Tools,
 * JSON schemas and logprobs are passed upstream, which refuses them if its model cannot;
 * images are off, since the canonical request carries text only. The context and output limits
 * are those of common current open models (128k and 16k tokens); `n` is capped at 8 because
 * each choice is a call of its own.
 */
export const DEFAULT_CHAT_CAPABILITIES: ModelCapabilities = Object.freeze({
  contextWindow: 131_072,
  maxOutputTokens: 16_384,
  tools: true,
  jsonSchema: true,
  logprobs: true,
  images: false,
  maxChoices: 8,
});

/**
 * What a configured embedding model is taken to do. Its input limit is OpenAI's (8192 tokens).
 * The length of its vectors is unknown until configured (`dimensions=N`); until then
 * `embeddingDimensions` is absent and a request's `dimensions` is passed upstream unchecked,
 * for the upstream to honour or refuse. A configured length is taken to be shortenable (again
 * the upstream decides) unless the entry says `shortenable=false`.
 */
export const DEFAULT_EMBEDDING_CAPABILITIES: ModelCapabilities = Object.freeze({
  contextWindow: 8192,
  maxOutputTokens: 0,
  tools: false,
  jsonSchema: false,
  logprobs: false,
  images: false,
  maxChoices: 1,
});

const positive = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const flag = z.enum(["true", "false"]).transform((value) => value === "true");

/** The settings an entry may give after its name, by the model kind they apply to. */
const SETTINGS = {
  chat: {
    context: positive,
    "max-output": positive,
    tools: flag,
    "json-schema": flag,
    logprobs: flag,
    images: flag,
    choices: z.coerce.number().int().min(1).max(128),
  },
  embedding: { context: positive, dimensions: positive, shortenable: flag },
} as const;

/**
 * Parses `OPENAI_COMPAT_MODELS`, the models routed to the openai-compatible upstream.
 *
 * A comma-separated list of entries `[embed:]name[=upstream-name][;setting=value...]`:
 * - `name` is the id clients ask for; `=upstream-name` sends a different name upstream;
 * - an `embed:` prefix marks an embedding model, otherwise it is a chat model (`chat:` may
 *   be written for symmetry);
 * - settings override the capabilities declared for the model (defaults:
 *   `DEFAULT_CHAT_CAPABILITIES`, `DEFAULT_EMBEDDING_CAPABILITIES`). Chat models take
 *   `context`, `max-output` and `choices` (positive integers) and `tools`, `json-schema`,
 *   `logprobs` and `images` (`true` or `false`); embedding models take `context`, `dimensions`
 *   (the length of their vectors) and `shortenable` (`true` or `false`, needs `dimensions`).
 * Whitespace around entries, names and settings is ignored, as are empty entries.
 *
 * @example
 * parseOpenAiCompatibleModels(
 *   "llama3.2:3b;context=131072;logprobs=false, qwen=Qwen/Qwen3-8B, embed:nomic-embed-text;dimensions=768",
 * )
 * // chat "llama3.2:3b" without logprobs; chat "qwen" sent upstream as "Qwen/Qwen3-8B";
 * // embedding "nomic-embed-text" making 768-dimensional vectors
 *
 * Throws a `ConfigurationError` naming the bad entry for an empty or invalid name, a name
 * listed twice, or a setting that is unknown, repeated, malformed or for the other kind of model.
 */
export function parseOpenAiCompatibleModels(spec: string): ModelInfo[] {
  const models: ModelInfo[] = [];
  const seen = new Set<string>();
  for (const raw of spec.split(",")) {
    const [head = "", ...settings] = raw.split(";");
    let entry = head.trim();
    if (!entry && settings.length === 0) continue;
    let kind: ModelInfo["kind"] = "chat";
    const prefix = /^(embed|chat):/.exec(entry);
    if (prefix) {
      kind = prefix[1] === "embed" ? "embedding" : "chat";
      entry = entry.slice(prefix[0].length);
    }
    const [name = "", upstream, ...extra] = entry.split("=").map((part) => part.trim());
    if (
      extra.length > 0 ||
      !MODEL_NAME.test(name) ||
      (upstream !== undefined && !MODEL_NAME.test(upstream))
    ) {
      throw new ConfigurationError(
        `OPENAI_COMPAT_MODELS: '${raw.trim()}' is not '[embed:]name[=upstream-name][;setting=value...]'.`,
      );
    }
    if (seen.has(name)) {
      throw new ConfigurationError(`OPENAI_COMPAT_MODELS lists '${name}' twice.`);
    }
    seen.add(name);
    models.push({
      id: name,
      backend: "openai-compatible",
      kind,
      // Upstreams batch requests and run on GPUs: nothing promises bit-exact replay.
      deterministic: false,
      ...(upstream && upstream !== name ? { upstreamId: upstream } : {}),
      ownedBy: "openai-compatible",
      // The configuration says nothing of when a model was made.
      created: 0,
      capabilities: capabilities(kind, name, settings),
    });
  }
  return models;
}

function capabilities(
  kind: ModelInfo["kind"],
  name: string,
  settings: readonly string[],
): ModelCapabilities {
  const known: Record<string, z.ZodType> = SETTINGS[kind];
  const values = new Map<string, unknown>();
  for (const raw of settings) {
    const [key = "", value, ...extra] = raw.split("=").map((part) => part.trim());
    const fail = (why: string) =>
      new ConfigurationError(`OPENAI_COMPAT_MODELS: '${name}' setting '${raw.trim()}' ${why}.`);
    const schema = known[key];
    if (!schema) {
      throw fail(
        `is unknown; ${kind === "chat" ? "chat" : "embedding"} models take ${Object.keys(known).join(", ")}`,
      );
    }
    if (values.has(key)) throw fail("is given twice");
    const parsed = schema.safeParse(value);
    if (extra.length > 0 || value === undefined || !parsed.success) {
      throw fail(`is not ${key}=${schema === flag ? "true|false" : "a positive integer"}`);
    }
    values.set(key, parsed.data);
  }
  const get = <T>(key: string, fallback: T): T => (values.get(key) as T | undefined) ?? fallback;
  if (kind === "chat") {
    const defaults = DEFAULT_CHAT_CAPABILITIES;
    return {
      contextWindow: get("context", defaults.contextWindow),
      maxOutputTokens: get("max-output", defaults.maxOutputTokens),
      tools: get("tools", defaults.tools),
      jsonSchema: get("json-schema", defaults.jsonSchema),
      logprobs: get("logprobs", defaults.logprobs),
      images: get("images", defaults.images),
      maxChoices: get("choices", defaults.maxChoices),
    };
  }
  const dimensions = values.get("dimensions") as number | undefined;
  if (dimensions === undefined && values.has("shortenable")) {
    throw new ConfigurationError(
      `OPENAI_COMPAT_MODELS: '${name}' sets shortenable without dimensions, the length of its vectors.`,
    );
  }
  return {
    ...DEFAULT_EMBEDDING_CAPABILITIES,
    contextWindow: get("context", DEFAULT_EMBEDDING_CAPABILITIES.contextWindow),
    ...(dimensions === undefined
      ? {}
      : { embeddingDimensions: { default: dimensions, shortenable: get("shortenable", true) } }),
  };
}
