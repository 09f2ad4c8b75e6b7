import { describe, expect, it } from "vitest";
import { hashCanonical } from "./canonical";
import {
  ChatMessage,
  type NormalizedChatRequest,
  NormalizedEmbeddingRequest,
  NormalizedRequest,
  requestHash,
} from "./request";

const chat: NormalizedChatRequest = {
  kind: "chat",
  model: "@cf/meta/llama-3.1-8b-instruct",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hi" },
  ],
  temperature: 1,
  top_p: 1,
  max_tokens: 256,
  seed: 4294967295,
  stop: [],
};

describe("NormalizedRequest", () => {
  it("accepts a fully normalised chat request and an embedding request unchanged", () => {
    expect(NormalizedRequest.parse(chat)).toEqual(chat);
    const embedding = { kind: "embedding", model: "@cf/baai/bge-small-en-v1.5", input: ["a", ""] };
    expect(NormalizedRequest.parse(embedding)).toEqual(embedding);
  });

  const refusals: [string, Record<string, unknown>][] = [
    ["an unknown field (what is hashed must be exactly the schema)", { stream: false }],
    ["a missing seed (verifiers could not re-execute)", { seed: undefined }],
    ["a negative seed", { seed: -1 }],
    ["a seed above 2^32 - 1", { seed: 4294967296 }],
    ["a fractional seed", { seed: 1.5 }],
    ["max_tokens 0", { max_tokens: 0 }],
    ["fractional max_tokens", { max_tokens: 10.5 }],
    ["temperature above 2", { temperature: 2.01 }],
    ["a negative temperature", { temperature: -0.1 }],
    ["top_p above 1", { top_p: 1.5 }],
    ["NaN temperature", { temperature: Number.NaN }],
    ["stop as a bare string (must be normalised to an array)", { stop: "\n" }],
    ["more than 4 stop sequences", { stop: ["a", "b", "c", "d", "e"] }],
    ["an empty stop sequence", { stop: [""] }],
    ["no messages", { messages: [] }],
    ["a tool message that names no call", { messages: [{ role: "tool", content: "x" }] }],
    [
      "a call id on a message that is not a tool's",
      { messages: [{ role: "user", content: "x", tool_call_id: "call_1" }] },
    ],
    [
      "tool calls made by someone other than the assistant",
      {
        messages: [
          {
            role: "user",
            content: "",
            tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }],
          },
        ],
      },
    ],
    ["a function message", { messages: [{ role: "function", content: "x" }] }],
    [
      "content parts instead of a string",
      { messages: [{ role: "user", content: [{ type: "text", text: "x" }] }] },
    ],
    ["a message with an extra field", { messages: [{ role: "user", content: "x", name: "bob" }] }],
    ["a lone surrogate in content", { messages: [{ role: "user", content: "\uD800" }] }],
    ["an empty model", { model: "" }],
    ["an unknown kind", { kind: "completion" }],
  ];
  it.each(refusals)("refuses a chat request with %s", (_, change) => {
    expect(NormalizedRequest.safeParse({ ...chat, ...change }).success).toBe(false);
  });

  it("refuses an embedding request whose input is a bare string, empty, or not text", () => {
    const base = { kind: "embedding", model: "m" };
    expect(NormalizedEmbeddingRequest.safeParse({ ...base, input: "a" }).success).toBe(false);
    expect(NormalizedEmbeddingRequest.safeParse({ ...base, input: [] }).success).toBe(false);
    expect(NormalizedEmbeddingRequest.safeParse({ ...base, input: [1, 2] }).success).toBe(false);
  });

  it("keeps the placeholder's ChatMessage shape: role and string content", () => {
    expect(ChatMessage.parse({ role: "assistant", content: "" })).toEqual({
      role: "assistant",
      content: "",
    });
  });
});

describe("requestHash", () => {
  it("is hashCanonical of the request, independent of key order", () => {
    const reordered = Object.fromEntries(Object.entries(chat).reverse()) as NormalizedChatRequest;
    expect(requestHash(chat)).toBe(hashCanonical(chat));
    expect(requestHash(reordered)).toBe(requestHash(chat));
  });

  it("changes when any field changes, including the seed", () => {
    const hashes = new Set([
      requestHash(chat),
      requestHash({ ...chat, seed: 0 }),
      requestHash({ ...chat, temperature: 0.9999999 }),
      requestHash({ ...chat, stop: ["\n"] }),
      requestHash({ ...chat, messages: [{ role: "user", content: "Hi" }] }),
      requestHash({ ...chat, model: "other" }),
    ]);
    expect(hashes.size).toBe(6);
  });
});
