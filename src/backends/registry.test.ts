import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { byteStream, collect, sse } from "../../test/backends/byte-stream";
import { VerityError } from "../errors";
import type { ChatInput } from "./backend";
import { ConfigurationError } from "./openai-compatible-config";
import { createModelRegistry } from "./registry";
import { WORKERS_AI_MODELS } from "./workers-ai";

const GLM = "@cf/zai-org/glm-4.7-flash";

const gatewayEnv = (overrides: Record<string, unknown> = {}): Env =>
  ({
    ...env,
    AI: undefined,
    BACKENDS: "reference",
    OPENAI_COMPAT_URL: "",
    OPENAI_COMPAT_MODELS: "",
    ...overrides,
  }) as Env;

// The Workers AI binding is the one boundary faked here (see workers-ai.test.ts).
function fakeAi() {
  const models: string[] = [];
  const binding = {
    async run(model: string) {
      models.push(model);
      return byteStream(
        sse(
          { response: "Bonjour" },
          { response: "", usage: { prompt_tokens: 9, completion_tokens: 2 } },
          "[DONE]",
        ),
      ).stream;
    },
  };
  return { ai: binding as unknown as Ai, models };
}

const caught = (action: () => unknown): unknown => {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
};

const chatInput = (model: string): ChatInput => ({
  model,
  messages: [{ role: "user", content: "Say hello in French." }],
  temperature: 0,
  top_p: 1,
  max_tokens: 16,
  seed: 1,
  stop: [],
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("createModelRegistry", () => {
  it("serves the deterministic reference models through the reference backend", () => {
    const registry = createModelRegistry(gatewayEnv());
    expect(registry.list().map((m) => [m.id, m.kind, m.deterministic])).toEqual(
      expect.arrayContaining([
        ["verity-ngram-1", "chat", true],
        ["verity-embed-1", "embedding", true],
      ]),
    );
    const model = registry.get("verity-ngram-1");
    expect(model.backend).toBe("reference");
    expect(registry.backendFor(model).name).toBe("reference");
  });

  it("answers 404 model_not_found on param 'model' for an unknown id", () => {
    const error = caught(() => createModelRegistry(gatewayEnv()).get("gpt-9"));
    expect(error).toBeInstanceOf(VerityError);
    expect(error).toMatchObject({ status: 404, code: "model_not_found", param: "model" });
  });

  it("treats the models of a backend missing from BACKENDS as unknown", () => {
    const registry = createModelRegistry(gatewayEnv({ AI: fakeAi().ai }));
    expect(caught(() => registry.get(GLM))).toMatchObject({ status: 404 });
    const workersAiModel = WORKERS_AI_MODELS[0];
    if (!workersAiModel) throw new Error("no Workers AI model");
    expect(caught(() => registry.backendFor(workersAiModel))).toMatchObject({ status: 404 });
  });

  it("lists no Workers AI model without the AI binding, and answers 503 naming the cause", () => {
    const registry = createModelRegistry(gatewayEnv({ BACKENDS: "reference,workers-ai" }));
    expect(registry.list().every((m) => m.backend === "reference")).toBe(true);
    const error = caught(() => registry.get(GLM));
    expect(error).toBeInstanceOf(VerityError);
    expect(error).toMatchObject({
      status: 503,
      code: "backend_not_configured",
      message: "Workers AI binding not configured. Its models cannot be served right now.",
    });
  });

  it("serves Workers AI models through the AI binding, listed in BACKENDS order", async () => {
    const { ai, models } = fakeAi();
    const registry = createModelRegistry(gatewayEnv({ BACKENDS: "workers-ai, reference", AI: ai }));
    const listed = registry.list();
    expect(listed[0]?.backend).toBe("workers-ai");
    expect(listed.map((m) => m.id)).toEqual(
      expect.arrayContaining([GLM, "@cf/baai/bge-base-en-v1.5", "verity-ngram-1"]),
    );
    const model = registry.get(GLM);
    const events = await collect(registry.backendFor(model).chat(model, chatInput(GLM)));
    expect(models).toEqual([GLM]);
    expect(events).toEqual([
      { type: "delta", text: "Bonjour" },
      { type: "done", finishReason: "stop", usage: { promptTokens: 9, completionTokens: 2 } },
    ]);
  });

  it("serves configured openai-compatible models, sending the optional API key upstream", async () => {
    const fetch = vi.spyOn(globalThis, "fetch").mockImplementation(async () =>
      Response.json({
        object: "list",
        data: [{ object: "embedding", embedding: [0.5, 0.25], index: 0 }],
        model: "nomic-embed-text",
        usage: { prompt_tokens: 2, total_tokens: 2 },
      }),
    );
    const registry = createModelRegistry(
      gatewayEnv({
        BACKENDS: "openai-compatible",
        OPENAI_COMPAT_URL: "http://127.0.0.1:11434/v1",
        OPENAI_COMPAT_MODELS: "qwen=qwen3:8b, embed:nomic",
        OPENAI_COMPAT_API_KEY: "sk-local",
      }),
    );
    expect(registry.list().map((m) => [m.id, m.kind, m.upstreamId])).toEqual([
      ["qwen", "chat", "qwen3:8b"],
      ["nomic", "embedding", undefined],
    ]);
    const model = registry.get("nomic");
    const result = await registry
      .backendFor(model)
      .embed(model, { model: model.id, input: ["salut"] });
    expect(result.embeddings).toEqual([[0.5, 0.25]]);
    const [url, init] = fetch.mock.calls[0] ?? [];
    expect(url).toBe("http://127.0.0.1:11434/v1/embeddings");
    expect(new Headers(init?.headers).get("authorization")).toBe("Bearer sk-local");
  });

  it("answers 503 for openai-compatible models while OPENAI_COMPAT_URL is empty", () => {
    const registry = createModelRegistry(
      gatewayEnv({ BACKENDS: "openai-compatible,reference", OPENAI_COMPAT_MODELS: "qwen" }),
    );
    expect(registry.list().map((m) => m.id)).not.toContain("qwen");
    expect(caught(() => registry.get("qwen"))).toMatchObject({
      status: 503,
      message: "OpenAI-compatible upstream not configured. Its models cannot be served right now.",
    });
  });

  it("fails with a ConfigurationError on every call while the configuration is invalid", () => {
    for (const [overrides, message] of [
      [{ BACKENDS: "reference,openai" }, "unknown backend 'openai'"],
      [{ BACKENDS: " , " }, "BACKENDS is empty"],
      [
        {
          BACKENDS: "reference,openai-compatible",
          OPENAI_COMPAT_URL: "http://127.0.0.1:8080/v1",
          OPENAI_COMPAT_MODELS: "verity-ngram-1",
        },
        "'verity-ngram-1' is served by both 'reference' and 'openai-compatible'",
      ],
      [{ BACKENDS: "openai-compatible", OPENAI_COMPAT_URL: "ftp://models" }, "must be http(s)"],
    ] as const) {
      for (let call = 0; call < 2; call++) {
        const error = caught(() => createModelRegistry(gatewayEnv(overrides)));
        expect(error).toBeInstanceOf(ConfigurationError);
        expect(error).toMatchObject({ message: expect.stringContaining(message) });
      }
    }
    expect(createModelRegistry(gatewayEnv()).get("verity-ngram-1").id).toBe("verity-ngram-1");
  });

  it("reuses one registry while the configuration is unchanged and rebuilds when it changes", () => {
    const { ai } = fakeAi();
    const first = createModelRegistry(gatewayEnv({ BACKENDS: "reference,workers-ai", AI: ai }));
    const again = createModelRegistry(gatewayEnv({ BACKENDS: "reference,workers-ai", AI: ai }));
    expect(again).toBe(first);
    const changed = createModelRegistry(gatewayEnv({ BACKENDS: "reference", AI: ai }));
    expect(changed).not.toBe(first);
    expect(caught(() => changed.get(GLM))).toMatchObject({ status: 404 });
  });
});
