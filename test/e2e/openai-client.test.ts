// The official OpenAI client, unchanged but for baseURL and apiKey, against a real `npm start`.
import OpenAI from "openai";
import { getAddress } from "viem";
import { describe, expect, inject, it } from "vitest";
import { z } from "zod";

const network = inject("localNetwork");
const client = new OpenAI({ baseURL: `${network.gatewayUrl}/v1`, apiKey: network.apiKey });

const CHAT_MODEL = "verity-ngram-1";
const EMBEDDING_MODEL = "verity-embed-1";
const INFERENCE_ID_HEADER = "x-verity-inference-id";

const Hex32 = z.string().regex(/^0x[0-9a-f]{64}$/i);
/** The `verity` block every answer carries: the inference's id and its signed receipt. */
const VerityBlock = z.object({
  inference_id: z.string().min(1),
  status: z.string(),
  receipt: z.looseObject({
    inferenceId: z.string(),
    model: z.string(),
    node: z.string(),
    requestHash: Hex32,
    responseHash: Hex32,
    signature: z.string().regex(/^0x[0-9a-f]{130}$/i),
  }),
});
type VerityBlock = z.infer<typeof VerityBlock>;

/** The `verity` field of any answer object (the client passes unknown fields through). */
const verityOf = (answer: object): VerityBlock =>
  VerityBlock.parse((answer as { verity?: unknown }).verity);

function expectReceiptFor(verity: VerityBlock, inferenceId: string, model: string) {
  expect(verity.inference_id).toBe(inferenceId);
  expect(verity.receipt.inferenceId).toBe(inferenceId);
  expect(verity.receipt.model).toBe(model);
  expect(getAddress(verity.receipt.node)).toBe(network.inferenceNode);
}

const question = {
  model: CHAT_MODEL,
  messages: [{ role: "user" as const, content: "Tell me about the sea and the ships on it." }],
  max_tokens: 24,
  seed: 7,
};

describe("chat completions", () => {
  it("answers with content, usage, the inference id header and a signed receipt", async () => {
    const { data, response } = await client.chat.completions.create(question).withResponse();

    const [choice] = data.choices;
    expect(choice?.message.role).toBe("assistant");
    expect(choice?.message.content?.trim()).not.toBe("");
    expect(["stop", "length"]).toContain(choice?.finish_reason);
    expect(data.model).toBe(CHAT_MODEL);
    expect(data.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    expect(data.usage?.completion_tokens).toBeLessThanOrEqual(question.max_tokens);
    expect(data.usage?.total_tokens).toBe(
      (data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0),
    );

    const inferenceId = response.headers.get(INFERENCE_ID_HEADER);
    expect(inferenceId).toBeTruthy();
    expectReceiptFor(verityOf(data), inferenceId ?? "", CHAT_MODEL);
  });

  it("keeps the record: GET /v1/inferences/:id returns the same receipt", async () => {
    const { data, response } = await client.chat.completions.create(question).withResponse();
    const inferenceId = response.headers.get(INFERENCE_ID_HEADER) ?? "";
    const stored = await client.get<{ id: string; kind: string; model: string; receipt: unknown }>(
      `/inferences/${inferenceId}`,
    );
    expect(stored).toMatchObject({ id: inferenceId, kind: "chat", model: CHAT_MODEL });
    expect(stored.receipt).toEqual(verityOf(data).receipt);
  });

  it("rejects a wrong API key with a 401 the client reports as AuthenticationError", async () => {
    const stranger = new OpenAI({
      baseURL: `${network.gatewayUrl}/v1`,
      apiKey: "vty_notAKeyThatExists0000000000000000",
      maxRetries: 0,
    });
    await expect(stranger.chat.completions.create(question)).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
  });
});

describe("streamed chat completions", () => {
  it.each([
    { label: "without usage", includeUsage: false },
    { label: "with stream_options.include_usage", includeUsage: true },
  ])(
    "stream chunks whose text is the non-streamed answer, the receipt in the last chunk ($label)",
    async ({ includeUsage }) => {
      const whole = await client.chat.completions.create(question);
      const { data: stream, response } = await client.chat.completions
        .create({
          ...question,
          stream: true,
          ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
        })
        .withResponse();

      const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);

      expect(chunks.length).toBeGreaterThan(2);
      for (const chunk of chunks) expect(chunk.object).toBe("chat.completion.chunk");
      const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
      // verity-ngram-1 is deterministic: the same request and seed give the same words.
      expect(text).toBe(whole.choices[0]?.message.content);

      const last = chunks.at(-1) ?? {};
      const inferenceId = response.headers.get(INFERENCE_ID_HEADER) ?? "";
      expect(inferenceId).not.toBe("");
      expectReceiptFor(verityOf(last), inferenceId, CHAT_MODEL);
      // Only the last chunk carries it.
      for (const chunk of chunks.slice(0, -1)) expect("verity" in chunk).toBe(false);
      if (includeUsage)
        expect((last as OpenAI.Chat.Completions.ChatCompletionChunk).usage).toEqual(whole.usage);
    },
  );
});

describe("embeddings", () => {
  const input = ["the sea is calm tonight", "a ship sails at dawn"];

  it("returns one float vector per input, with usage and a receipt", async () => {
    const { data, response } = await client.embeddings
      .create({ model: EMBEDDING_MODEL, input, encoding_format: "float" })
      .withResponse();

    expect(data.model).toBe(EMBEDDING_MODEL);
    expect(data.data.map((item) => item.index)).toEqual([0, 1]);
    const [first, second] = data.data.map((item) => item.embedding);
    expect(first?.length).toBeGreaterThan(0);
    expect(second?.length).toBe(first?.length);
    for (const value of [...(first ?? []), ...(second ?? [])])
      expect(Number.isFinite(value)).toBe(true);
    expect(first).not.toEqual(second);
    expect(data.usage.prompt_tokens).toBeGreaterThan(0);

    const inferenceId = response.headers.get(INFERENCE_ID_HEADER) ?? "";
    expect(inferenceId).not.toBe("");
    expectReceiptFor(verityOf(data), inferenceId, EMBEDDING_MODEL);
  });

  it("returns the same vectors as little-endian float32 in base64", async () => {
    const floats = await client.embeddings.create({
      model: EMBEDDING_MODEL,
      input,
      encoding_format: "float",
    });
    const base64 = await client.embeddings.create({
      model: EMBEDDING_MODEL,
      input,
      encoding_format: "base64",
    });
    // Without encoding_format the client asks for base64 and decodes it itself.
    const defaulted = await client.embeddings.create({ model: EMBEDDING_MODEL, input });

    base64.data.forEach((item, i) => {
      expect(typeof item.embedding).toBe("string");
      // Copied into a fresh buffer: Float32Array needs 4-byte alignment, pooled Buffers lack it.
      const bytes = new Uint8Array(Buffer.from(item.embedding as unknown as string, "base64"));
      const decoded = Array.from(new Float32Array(bytes.buffer));
      const expected = floats.data[i]?.embedding.map((value) => Math.fround(value));
      expect(decoded).toEqual(expected);
      expect(Array.from(defaulted.data[i]?.embedding ?? [])).toEqual(expected);
    });
  });
});
