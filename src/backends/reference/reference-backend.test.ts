import { sha256, stringToBytes } from "viem";
import { describe, expect, it } from "vitest";
import { VerityError } from "../../errors";
import type { ChatEvent, ChatInput, ModelInfo } from "../backend";
import { EMBEDDING_DIMENSIONS, REFERENCE_MODELS, referenceBackend } from "./index";

const chatModel = REFERENCE_MODELS.find((model) => model.kind === "chat") as ModelInfo;
const embeddingModel = REFERENCE_MODELS.find((model) => model.kind === "embedding") as ModelInfo;

const PROMPTS = [
  "Tell me about the ocean",
  "How do airplanes fly?",
  "Write a poem about autumn leaves",
  "What is the capital of France?",
];

const input = (content: string, overrides: Partial<ChatInput> = {}): ChatInput => ({
  model: chatModel.id,
  messages: [
    { role: "system", content: "You are a helpful assistant." },
    { role: "user", content },
  ],
  temperature: 0.8,
  top_p: 1,
  max_tokens: 48,
  seed: 42,
  stop: [],
  ...overrides,
});

async function complete(request: ChatInput, model: ModelInfo = chatModel, signal?: AbortSignal) {
  const events: ChatEvent[] = [];
  for await (const event of referenceBackend.chat(model, request, { signal })) events.push(event);
  const done = events[events.length - 1];
  if (done?.type !== "done") throw new Error("the last event is not done");
  const deltas = events.flatMap((event) => (event.type === "delta" ? [event.text] : []));
  return { content: deltas.join(""), deltas, done };
}

async function rejection(promise: Promise<unknown>): Promise<VerityError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof VerityError)) throw new Error(`expected a VerityError, got ${error}`);
  return error;
}

describe("referenceBackend.chat", () => {
  it("is bit-identical for the same request and seed, streamed or joined", async () => {
    for (const prompt of PROMPTS) {
      const first = await complete(input(prompt));
      const second = await complete(input(prompt));
      expect(second).toEqual(first);
      expect(first.deltas.length).toBe(first.done.usage.completionTokens);
      expect(first.deltas.join("")).toBe(first.content);
    }
  });

  it("gives different replies for different seeds", async () => {
    for (const prompt of PROMPTS) {
      const replies = new Set<string>();
      for (const seed of [1, 2, 3]) replies.add((await complete(input(prompt, { seed }))).content);
      expect(replies.size, prompt).toBe(3);
    }
  });

  it("decodes greedily at temperature 0, whatever the seed", async () => {
    for (const prompt of PROMPTS) {
      const replies = new Set<string>();
      for (const seed of [1, 2, 99, 4_294_967_295]) {
        replies.add((await complete(input(prompt, { temperature: 0, seed }))).content);
      }
      expect(replies.size, prompt).toBe(1);
    }
  });

  it("gives different replies for different prompts with the same seed", async () => {
    for (const temperature of [0, 0.8]) {
      const replies = new Set<string>();
      for (const prompt of PROMPTS)
        replies.add((await complete(input(prompt, { temperature }))).content);
      expect(replies.size).toBe(PROMPTS.length);
    }
  });

  it("relates the reply to the words of the prompt", async () => {
    const { content } = await complete(input("Tell me about the ocean", { temperature: 0 }));
    expect(content.toLowerCase()).toContain("ocean");
  });

  it("honours max_tokens with finish reason length", async () => {
    const { deltas, done } = await complete(input(PROMPTS[0] ?? "", { max_tokens: 7 }));
    expect(deltas).toHaveLength(7);
    expect(done.finishReason).toBe("length");
    expect(done.usage.completionTokens).toBe(7);
  });

  it("honours a stop sequence that spans tokens with finish reason stop", async () => {
    const full = (await complete(input(PROMPTS[1] ?? ""))).content;
    const at = full.indexOf(" ", 5);
    const stop = full.slice(at - 3, at + 3);
    const cut = await complete(input(PROMPTS[1] ?? "", { stop: [stop] }));
    expect(cut.content).toBe(full.slice(0, full.indexOf(stop)));
    expect(cut.done.finishReason).toBe("stop");
  });

  it("reproduces the golden reply committed with this test", async () => {
    const { content, done } = await complete(GOLDEN_REQUEST);
    expect(content).toBe(GOLDEN_REPLY);
    expect(done).toEqual(GOLDEN_DONE);
    expect(sha256(stringToBytes(content))).toBe(GOLDEN_REPLY_SHA256);
  });

  it("counts prompt tokens as a role marker plus content tokens per message", async () => {
    const { done } = await complete(input("Hello there, friend!"));
    // 1 + 6 ("You are a helpful assistant .") + 1 + 5 ("Hello there , friend !").
    expect(done.usage.promptTokens).toBe(13);
  });

  it("answers 404 for a model it does not serve", async () => {
    const unknown: ModelInfo = { ...chatModel, id: "verity-ngram-9" };
    const error = await rejection(complete(input("hi"), unknown));
    expect(error.status).toBe(404);
    expect(error.code).toBe("model_not_found");
    expect(error.param).toBe("model");
    const foreign: ModelInfo = { ...chatModel, backend: "workers-ai" };
    expect((await rejection(complete(input("hi"), foreign))).status).toBe(404);
  });

  it("answers 400 on param model when asked to chat with the embedding model", async () => {
    const error = await rejection(complete(input("hi"), embeddingModel));
    expect(error.status).toBe(400);
    expect(error.type).toBe("invalid_request_error");
    expect(error.param).toBe("model");
  });

  it("answers 400 naming the field for out-of-range decoding parameters", async () => {
    const error = await rejection(complete(input("hi", { max_tokens: 0 })));
    expect(error.status).toBe(400);
    expect(error.param).toBe("max_tokens");
    expect((await rejection(complete(input("hi", { temperature: 3 })))).param).toBe("temperature");
  });

  it("serves a model under an alias through its upstream id", async () => {
    const alias: ModelInfo = { ...chatModel, id: "my-alias", upstreamId: chatModel.id };
    expect((await complete(input("hi"), alias)).content).toBe(
      (await complete(input("hi"))).content,
    );
  });

  it("stops generating when the signal is aborted", async () => {
    const controller = new AbortController();
    const events: ChatEvent[] = [];
    const run = (async () => {
      for await (const event of referenceBackend.chat(chatModel, input("hi"), {
        signal: controller.signal,
      })) {
        events.push(event);
        if (events.length === 2) controller.abort(new Error("gone"));
      }
    })();
    await expect(run).rejects.toThrow("gone");
    expect(events).toHaveLength(2);
  });
});

describe("referenceBackend.embed", () => {
  it("embeds every input and counts their tokens", async () => {
    const result = await referenceBackend.embed(embeddingModel, {
      model: "verity-embed-1",
      input: ["a cat", "sat on the mat."],
    });
    expect(result.embeddings).toHaveLength(2);
    for (const vector of result.embeddings) expect(vector).toHaveLength(EMBEDDING_DIMENSIONS);
    expect(result.usage.promptTokens).toBe(2 + 5);
  });

  it("answers 400 on param model when asked to embed with the chat model", async () => {
    const error = await rejection(
      referenceBackend.embed(chatModel, { model: "verity-ngram-1", input: ["a cat"] }),
    );
    expect(error.status).toBe(400);
    expect(error.param).toBe("model");
  });

  it("answers 400 on the offending input when an input is not a string", async () => {
    const error = await rejection(
      referenceBackend.embed(embeddingModel, {
        model: "verity-embed-1",
        input: ["fine", 7 as unknown as string],
      }),
    );
    expect(error.status).toBe(400);
    expect(error.param).toBe("input.1");
  });

  it("does not embed once the signal is aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("gone"));
    await expect(
      referenceBackend.embed(
        embeddingModel,
        { model: "verity-embed-1", input: ["a"] },
        controller.signal,
      ),
    ).rejects.toThrow("gone");
  });
});

describe("REFERENCE_MODELS", () => {
  it("lists both deterministic models, owned by verity, with a fixed creation time", () => {
    expect(REFERENCE_MODELS).toEqual([
      {
        id: "verity-ngram-1",
        backend: "reference",
        kind: "chat",
        deterministic: true,
        ownedBy: "verity",
        created: 1_767_225_600,
        capabilities: {
          contextWindow: 131_072,
          maxOutputTokens: 16_384,
          tools: true,
          jsonSchema: true,
          logprobs: true,
          images: false,
          maxChoices: 16,
        },
      },
      {
        id: "verity-embed-1",
        backend: "reference",
        kind: "embedding",
        deterministic: true,
        ownedBy: "verity",
        created: 1_767_225_600,
        capabilities: expect.objectContaining({
          embeddingDimensions: { default: 384, shortenable: true },
        }),
      },
    ]);
  });
});

const GOLDEN_REQUEST: ChatInput = {
  model: "verity-ngram-1",
  messages: [
    { role: "system", content: "You are a concise assistant." },
    { role: "user", content: "What do you know about volcanoes, lava and mountains?" },
  ],
  temperature: 0.7,
  top_p: 0.9,
  max_tokens: 64,
  seed: 20260101,
  stop: [],
};
// Recorded in workerd and cross-checked under Node 22 (an older V8): any change to the model
// file, the tokenizer, the PRNG or the decoding rules shows up here.
const GOLDEN_REPLY =
  "Volcanoes a town in west of the same way but differ in meaning of the United States and Mexico.";
const GOLDEN_DONE = {
  type: "done",
  finishReason: "stop",
  usage: { promptTokens: 19, completionTokens: 20 },
};
const GOLDEN_REPLY_SHA256 = "0x6b6ecab8acf2d6e51020bd45934bd744e6c231336a65e8b019486a66d1f27520";
