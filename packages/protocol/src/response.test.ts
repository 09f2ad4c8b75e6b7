import { describe, expect, it } from "vitest";
import { hashCanonical } from "./canonical";
import { type EmbeddingResponseContent, ResponseContent, responseHash } from "./response";

describe("ResponseContent", () => {
  it("accepts chat content and embeddings unchanged", () => {
    const chat = { kind: "chat", content: "Hello", finish_reason: "length" };
    const embedding = {
      kind: "embedding",
      embeddings: [
        [0.1, -0.2],
        [3e-8, 1],
      ],
    };
    expect(ResponseContent.parse(chat)).toEqual(chat);
    expect(ResponseContent.parse(embedding)).toEqual(embedding);
  });

  const refusals: [string, unknown][] = [
    [
      "a finish reason other than stop, length or tool_calls",
      { kind: "chat", content: "x", finish_reason: "content_filter" },
    ],
    [
      "usage mixed into the hashed content",
      { kind: "chat", content: "x", finish_reason: "stop", usage: {} },
    ],
    ["non-string content", { kind: "chat", content: null, finish_reason: "stop" }],
    ["a lone surrogate in content", { kind: "chat", content: "\uDBFF", finish_reason: "stop" }],
    ["a NaN in an embedding", { kind: "embedding", embeddings: [[Number.NaN]] }],
    [
      "an infinite embedding value",
      { kind: "embedding", embeddings: [[Number.POSITIVE_INFINITY]] },
    ],
    ["a flat embedding array", { kind: "embedding", embeddings: [0.1, 0.2] }],
    ["base64 embeddings", { kind: "embedding", embeddings: ["AAAA"] }],
  ];
  it.each(refusals)("refuses %s", (_, value) => {
    expect(ResponseContent.safeParse(value).success).toBe(false);
  });
});

describe("responseHash", () => {
  it("is hashCanonical of the content", () => {
    const r = { kind: "chat", content: "Hi", finish_reason: "stop" } as const;
    expect(responseHash(r)).toBe(hashCanonical(r));
  });

  it("tells apart embeddings that differ in the last bit of one value", () => {
    const a: EmbeddingResponseContent = { kind: "embedding", embeddings: [[0.1, 0.2]] };
    const b: EmbeddingResponseContent = {
      kind: "embedding",
      embeddings: [[0.1, 0.2 + Number.EPSILON / 8]],
    };
    expect(b.embeddings[0]?.[1]).not.toBe(0.2);
    expect(responseHash(a)).not.toBe(responseHash(b));
  });

  it("hashes -0 as 0, as JCS prints both as 0", () => {
    expect(responseHash({ kind: "embedding", embeddings: [[-0]] })).toBe(
      responseHash({ kind: "embedding", embeddings: [[0]] }),
    );
  });
});
