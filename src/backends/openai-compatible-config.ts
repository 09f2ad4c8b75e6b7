import { z } from "zod";
import type { ModelInfo } from "./backend";

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
 * Parses `OPENAI_COMPAT_MODELS`, the models routed to the openai-compatible upstream.
 *
 * A comma-separated list of entries `[embed:]name[=upstream-name]`:
 * - `name` is the id clients ask for; `=upstream-name` sends a different name upstream;
 * - an `embed:` prefix marks an embedding model, otherwise it is a chat model (`chat:` may
 *   be written for symmetry).
 * Whitespace around entries and names is ignored, as are empty entries.
 *
 * @example
 * parseOpenAiCompatibleModels("llama3.2:3b, qwen=Qwen/Qwen3-8B, embed:nomic-embed-text")
 * // chat "llama3.2:3b"; chat "qwen" sent upstream as "Qwen/Qwen3-8B";
 * // embedding "nomic-embed-text"
 *
 * Throws a `ConfigurationError` naming the bad entry for an empty or invalid name, or a
 * name listed twice.
 */
export function parseOpenAiCompatibleModels(spec: string): ModelInfo[] {
  const models: ModelInfo[] = [];
  const seen = new Set<string>();
  for (const raw of spec.split(",")) {
    let entry = raw.trim();
    if (!entry) continue;
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
        `OPENAI_COMPAT_MODELS: '${raw.trim()}' is not '[embed:]name[=upstream-name]'.`,
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
    });
  }
  return models;
}
