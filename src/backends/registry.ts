import { notFound, VerityError } from "../errors";
import type { Backend, BackendName, ModelInfo } from "./backend";
import { createOpenAiCompatibleBackend } from "./openai-compatible";
import {
  ConfigurationError,
  openAiCompatibleApiKey,
  openAiCompatibleConfigFromEnv,
} from "./openai-compatible-config";
import { REFERENCE_MODELS, referenceBackend } from "./reference/index";
import { createWorkersAiBackend, WORKERS_AI_MODELS } from "./workers-ai";

/** Which models this gateway serves, and through which backend. */
export interface ModelRegistry {
  /** The models that can be served now, in `BACKENDS` order. */
  list(): ModelInfo[];
  /**
   * The model named `id`. Throws a 404 `model_not_found` VerityError (param "model") when no
   * enabled backend has it, and a 503 when its backend is enabled but not configured.
   */
  get(id: string): ModelInfo;
  /** The backend that serves `model`, which must come from `get` or `list`. */
  backendFor(model: ModelInfo): Backend;
}

const BACKEND_NAMES: readonly BackendName[] = ["reference", "workers-ai", "openai-compatible"];
const isBackendName = (name: string): name is BackendName =>
  (BACKEND_NAMES as readonly string[]).includes(name);

/**
 * The model registry for `env`, built once per isolate and reused while the configuration it
 * was built from is unchanged, so it is cheap to call on every request.
 *
 * Enabled backends come from `BACKENDS` (comma-separated: reference, workers-ai,
 * openai-compatible). A backend that is enabled but cannot run — `workers-ai` without the `AI`
 * binding (it exists only in the production environment), `openai-compatible` with an empty
 * `OPENAI_COMPAT_URL` — lists none of its models, and `get` answers 503 for them with what is
 * missing, so the operator sees the cause rather than a misleading 404. Models of a backend
 * that is not enabled are unknown (404).
 *
 * An invalid configuration (an unknown backend name, an empty `BACKENDS`, a malformed
 * `OPENAI_COMPAT_*`, one id served by two backends) throws a `ConfigurationError` on the first
 * call; it is not cached, so every request reports it until the configuration is fixed.
 */
/** The settings a registry reads; every worker that serves or re-executes models has them. */
export type RegistryEnv = Pick<
  Env,
  "BACKENDS" | "AI" | "OPENAI_COMPAT_URL" | "OPENAI_COMPAT_MODELS"
>;

export function createModelRegistry(env: RegistryEnv): ModelRegistry {
  const key: CacheKey = [
    env.BACKENDS,
    env.AI,
    env.OPENAI_COMPAT_URL,
    env.OPENAI_COMPAT_MODELS,
    openAiCompatibleApiKey(env),
  ];
  if (cached && key.every((part, i) => Object.is(part, cached?.key[i]))) return cached.registry;
  const registry = buildRegistry(env);
  cached = { key, registry };
  return registry;
}

type CacheKey = readonly unknown[];
let cached: { key: CacheKey; registry: ModelRegistry } | undefined;

function buildRegistry(env: RegistryEnv): ModelRegistry {
  const served = new Map<string, { model: ModelInfo; backend: Backend }>();
  const unavailable = new Map<string, () => VerityError>();
  const owner = new Map<string, BackendName>();

  const claim = (models: readonly ModelInfo[], backendName: BackendName) => {
    for (const model of models) {
      const other = owner.get(model.id);
      if (other) {
        throw new ConfigurationError(
          `Model id '${model.id}' is served by both '${other}' and '${backendName}'.`,
        );
      }
      owner.set(model.id, backendName);
    }
  };
  const serve = (models: readonly ModelInfo[], backend: Backend) => {
    claim(models, backend.name);
    for (const model of models) served.set(model.id, { model, backend });
  };
  const withhold = (models: readonly ModelInfo[], backendName: BackendName, why: string) => {
    claim(models, backendName);
    for (const model of models) unavailable.set(model.id, () => notConfigured(why));
  };

  for (const name of enabledBackends(env.BACKENDS)) {
    if (name === "reference") {
      serve(REFERENCE_MODELS, referenceBackend);
    } else if (name === "workers-ai") {
      if (env.AI) serve(WORKERS_AI_MODELS, createWorkersAiBackend(env.AI));
      else withhold(WORKERS_AI_MODELS, name, "Workers AI binding not configured.");
    } else {
      const config = openAiCompatibleConfigFromEnv(env);
      if (config.baseUrl) serve(config.models, createOpenAiCompatibleBackend(config));
      else withhold(config.models, name, "OpenAI-compatible upstream not configured.");
    }
  }

  const listed = [...served.values()].map((entry) => entry.model);
  return {
    list: () => [...listed],
    get(id) {
      const entry = served.get(id);
      if (entry) return entry.model;
      throw unavailable.get(id)?.() ?? unknownModel(id);
    },
    backendFor(model) {
      const entry = served.get(model.id);
      if (!entry || entry.model.backend !== model.backend) {
        throw unavailable.get(model.id)?.() ?? unknownModel(model.id);
      }
      return entry.backend;
    },
  };
}

function enabledBackends(spec: string): BackendName[] {
  const names = spec
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0) {
    throw new ConfigurationError(
      `BACKENDS is empty; expected some of: ${BACKEND_NAMES.join(", ")}.`,
    );
  }
  const enabled: BackendName[] = [];
  for (const name of names) {
    if (!isBackendName(name)) {
      throw new ConfigurationError(
        `BACKENDS names an unknown backend '${name}'; expected some of: ${BACKEND_NAMES.join(", ")}.`,
      );
    }
    if (!enabled.includes(name)) enabled.push(name);
  }
  return enabled;
}

const unknownModel = (id: string) =>
  notFound(`The model '${id}' does not exist or is not served here.`, "model_not_found", "model");

const notConfigured = (why: string) =>
  new VerityError(`${why} Its models cannot be served right now.`, {
    status: 503,
    type: "service_unavailable",
    code: "backend_not_configured",
    param: "model",
  });
