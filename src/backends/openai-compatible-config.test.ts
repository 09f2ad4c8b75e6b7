import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  ConfigurationError,
  openAiCompatibleConfigFromEnv,
  parseOpenAiCompatibleModels,
} from "./openai-compatible-config";

describe("parseOpenAiCompatibleModels", () => {
  it("reads chat models, renames with '=', and embedding models marked 'embed:'", () => {
    expect(
      parseOpenAiCompatibleModels(
        " llama3.2:3b , qwen = Qwen/Qwen3-8B,embed:nomic-embed-text, chat:phi4,",
      ),
    ).toEqual([
      {
        id: "llama3.2:3b",
        backend: "openai-compatible",
        kind: "chat",
        deterministic: false,
        ownedBy: "openai-compatible",
        created: 0,
      },
      {
        id: "qwen",
        backend: "openai-compatible",
        kind: "chat",
        deterministic: false,
        upstreamId: "Qwen/Qwen3-8B",
        ownedBy: "openai-compatible",
        created: 0,
      },
      expect.objectContaining({ id: "nomic-embed-text", kind: "embedding" }),
      expect.objectContaining({ id: "phi4", kind: "chat" }),
    ]);
  });

  it("reads an empty list as no models", () => {
    expect(parseOpenAiCompatibleModels("")).toEqual([]);
    expect(parseOpenAiCompatibleModels(" , ")).toEqual([]);
  });

  it("rejects malformed entries and duplicates with a ConfigurationError naming them", () => {
    for (const [spec, message] of [
      ["=llama3", "'=llama3' is not"],
      ["a=b=c", "'a=b=c' is not"],
      ["bad name", "'bad name' is not"],
      ["embed:", "'embed:' is not"],
      ["qwen, qwen=Qwen/Qwen3-8B", "lists 'qwen' twice"],
    ] as const) {
      expect(() => parseOpenAiCompatibleModels(spec)).toThrow(ConfigurationError);
      expect(() => parseOpenAiCompatibleModels(spec)).toThrow(message);
    }
  });
});

describe("openAiCompatibleConfigFromEnv", () => {
  const config = (overrides: Record<string, unknown>) =>
    openAiCompatibleConfigFromEnv({
      ...env,
      OPENAI_COMPAT_URL: "",
      OPENAI_COMPAT_MODELS: "",
      ...overrides,
    } as Env);

  it("reads the URL, the models and the optional API key secret", () => {
    expect(
      config({
        OPENAI_COMPAT_URL: " http://10.0.0.5:8000/v1 ",
        OPENAI_COMPAT_MODELS: "qwen=Qwen/Qwen3-8B",
        OPENAI_COMPAT_API_KEY: "sk-local",
      }),
    ).toMatchObject({
      baseUrl: "http://10.0.0.5:8000/v1",
      apiKey: "sk-local",
      models: [{ id: "qwen", upstreamId: "Qwen/Qwen3-8B" }],
    });
  });

  it("treats a missing or blank API key as none", () => {
    expect(config({ OPENAI_COMPAT_URL: "http://localhost:11434/v1" }).apiKey).toBeUndefined();
    expect(config({ OPENAI_COMPAT_API_KEY: "  " }).apiKey).toBeUndefined();
  });

  it("rejects a URL that is not http(s) and an API key that is not a string", () => {
    expect(() => config({ OPENAI_COMPAT_URL: "localhost:11434" })).toThrow(ConfigurationError);
    expect(() => config({ OPENAI_COMPAT_URL: "not a url" })).toThrow(ConfigurationError);
    expect(() => config({ OPENAI_COMPAT_API_KEY: 42 })).toThrow(ConfigurationError);
  });
});
