import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  ConfigurationError,
  DEFAULT_CHAT_CAPABILITIES,
  DEFAULT_EMBEDDING_CAPABILITIES,
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
        capabilities: DEFAULT_CHAT_CAPABILITIES,
      },
      {
        id: "qwen",
        backend: "openai-compatible",
        kind: "chat",
        deterministic: false,
        upstreamId: "Qwen/Qwen3-8B",
        ownedBy: "openai-compatible",
        created: 0,
        capabilities: DEFAULT_CHAT_CAPABILITIES,
      },
      expect.objectContaining({ id: "nomic-embed-text", kind: "embedding" }),
      expect.objectContaining({ id: "phi4", kind: "chat" }),
    ]);
  });

  it("declares defaults for chat models: 128k context, 16k output, tools, JSON schema and logprobs, no images, n up to 8", () => {
    const [chat] = parseOpenAiCompatibleModels("llama3.2:3b");
    expect(chat?.capabilities).toEqual({
      contextWindow: 131_072,
      maxOutputTokens: 16_384,
      tools: true,
      jsonSchema: true,
      logprobs: true,
      images: false,
      maxChoices: 8,
    });
  });

  it("reads per-model capability settings written after ';'", () => {
    const [chat] = parseOpenAiCompatibleModels(
      "qwen=Qwen/Qwen3-8B; context=32768 ;max-output=8192;tools=false;json-schema=false;logprobs=false;images=true;choices=2",
    );
    expect(chat).toMatchObject({ id: "qwen", upstreamId: "Qwen/Qwen3-8B" });
    expect(chat?.capabilities).toEqual({
      contextWindow: 32_768,
      maxOutputTokens: 8192,
      tools: false,
      jsonSchema: false,
      logprobs: false,
      images: true,
      maxChoices: 2,
    });
  });

  it("declares an embedding model's vector length only when configured, shortenable unless said otherwise", () => {
    const [unknown, known, fixed] = parseOpenAiCompatibleModels(
      "embed:nomic-embed-text, embed:bge-m3;dimensions=1024;context=8192, embed:minilm;dimensions=384;shortenable=false",
    );
    expect(unknown?.capabilities).toEqual(DEFAULT_EMBEDDING_CAPABILITIES);
    expect(unknown?.capabilities).not.toHaveProperty("embeddingDimensions");
    expect(known?.capabilities.embeddingDimensions).toEqual({ default: 1024, shortenable: true });
    expect(fixed?.capabilities.embeddingDimensions).toEqual({ default: 384, shortenable: false });
  });

  it("rejects unknown, repeated or malformed settings, and settings of the other kind of model", () => {
    for (const [spec, message] of [
      ["llama;temperature=1", "'temperature=1' is unknown"],
      ["llama;tools=yes", "is not tools=true|false"],
      ["llama;context=0", "is not context=a positive integer"],
      ["llama;context", "is not context="],
      ["llama;tools=true;tools=false", "is given twice"],
      ["llama;dimensions=768", "'dimensions=768' is unknown"],
      ["embed:nomic;tools=true", "'tools=true' is unknown"],
      ["embed:nomic;shortenable=true", "shortenable without dimensions"],
      [";tools=true", "is not"],
    ] as const) {
      expect(() => parseOpenAiCompatibleModels(spec)).toThrow(ConfigurationError);
      expect(() => parseOpenAiCompatibleModels(spec)).toThrow(message);
    }
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
