import { describe, expect, it } from "vitest";
import { taskDeadlineMs } from "./task-deadline";

describe("taskDeadlineMs", () => {
  it("gives a 2,048-input embedding call about 10 s more than a 5-token chat", () => {
    const chat = taskDeadlineMs(
      {
        kind: "chat",
        model: "verity-ngram-1",
        messages: [{ role: "user", content: "hi" }],
        temperature: 1,
        top_p: 1,
        max_tokens: 5,
        seed: 1,
        stop: [],
      },
      5_000,
    );
    const embedding = taskDeadlineMs(
      { kind: "embedding", model: "verity-embed-1", input: Array(2048).fill("text") },
      5_000,
    );
    expect(chat).toBe(5_010);
    expect(embedding).toBe(5_000 + 2048 * 5);
  });

  it("gives a chat time for every one of its n choices", () => {
    const request = {
      kind: "chat" as const,
      model: "verity-ngram-1",
      messages: [{ role: "user" as const, content: "hi" }],
      temperature: 1,
      top_p: 1,
      max_tokens: 1_000,
      seed: 1,
      stop: [],
    };
    expect(taskDeadlineMs({ ...request, n: 4 }, 5_000)).toBe(5_000 + 4 * 1_000 * 2);
  });
});
