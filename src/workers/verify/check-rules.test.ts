import { createVerificationPolicy } from "@verity/protocol";
import type { VerificationTask } from "@verity/protocol/verification-task";
import { describe, expect, it } from "vitest";
import { checkRules } from "./check-rules";

const policy = createVerificationPolicy({
  inferenceNodes: [],
  maxResponseChars: 5,
  denyPatterns: ["forbidden"],
});

// checkRules reads only request, response and usage; the rest of the task is irrelevant here.
const task = (fields: Pick<VerificationTask, "request" | "response" | "usage">) =>
  fields as VerificationTask;

const embedding = (embeddings: number[][], input = ["a", "b"]) =>
  task({
    request: { kind: "embedding", model: "verity-embed-1", input },
    response: { kind: "embedding", embeddings },
    usage: { prompt_tokens: 2, completion_tokens: 0 },
  });

const chat = (
  content: string,
  changes: { max_tokens?: number; stop?: string[]; completion_tokens?: number } = {},
) =>
  task({
    request: {
      kind: "chat",
      model: "verity-ngram-1",
      messages: [{ role: "user", content: "hi" }],
      temperature: 1,
      top_p: 1,
      max_tokens: changes.max_tokens ?? 10,
      seed: 1,
      stop: changes.stop ?? [],
    },
    response: { kind: "chat", content, finish_reason: "stop" },
    usage: { prompt_tokens: 2, completion_tokens: changes.completion_tokens ?? 3 },
  });

describe("checkRules", () => {
  it("passes a well-formed answer", () => {
    expect(checkRules(chat("fine"), policy)).toEqual({
      check: "rules@1",
      status: "pass",
      reason: "ok",
    });
    expect(
      checkRules(
        embedding([
          [1, 0],
          [0, 1],
        ]),
        policy,
      ).status,
    ).toBe("pass");
  });

  it("counts length in code points, so an emoji is one character", () => {
    expect(checkRules(chat("🚀🚀🚀🚀🚀"), policy).status).toBe("pass");
    expect(checkRules(chat("🚀🚀🚀🚀🚀🚀"), policy).reason).toBe("response_too_long");
  });

  it("matches deny patterns case-insensitively", () => {
    const p = createVerificationPolicy({
      inferenceNodes: [],
      maxResponseChars: 100,
      denyPatterns: ["forbidden"],
    });
    expect(checkRules(chat("It is FORBIDDEN."), p).reason).toBe("denied_content");
  });

  it("reports the first broken rule: usage before stop sequences before length", () => {
    expect(
      checkRules(chat("a STOP b and more", { stop: ["STOP"], max_tokens: 2 }), policy).reason,
    ).toBe("max_tokens_exceeded");
    expect(checkRules(chat("a STOP b and more", { stop: ["STOP"] }), policy).reason).toBe(
      "stop_sequence_in_content",
    );
  });

  it("fails vectors of unequal or zero dimension, non-finite values, and a kind mismatch", () => {
    expect(checkRules(embedding([[1, 0], [1]]), policy).reason).toBe(
      "embedding_dimension_mismatch",
    );
    expect(checkRules(embedding([[], []]), policy).reason).toBe("embedding_dimension_mismatch");
    expect(
      checkRules(
        embedding([
          [1, 0],
          [Number.NaN, 0],
        ]),
        policy,
      ).reason,
    ).toBe("embedding_not_finite");
    expect(checkRules(embedding([[1, 0]]), policy).reason).toBe("embedding_count_mismatch");
    const mixed = task({ ...chat("x"), response: { kind: "embedding", embeddings: [[1]] } });
    expect(checkRules(mixed, policy)).toMatchObject({ status: "fail", reason: "kind_mismatch" });
  });

  describe("tool calls and choices", () => {
    const call = (name: string) => ({
      id: "call_1",
      type: "function" as const,
      function: { name, arguments: "{}" },
    });
    const tool = { type: "function" as const, function: { name: "get_weather" } };
    const withTools = (
      request: Partial<VerificationTask["request"]>,
      response: Partial<VerificationTask["response"]>,
      completion_tokens = 3,
    ) => {
      const base = chat("");
      return task({
        request: { ...base.request, ...request } as VerificationTask["request"],
        response: { ...base.response, ...response } as VerificationTask["response"],
        usage: { prompt_tokens: 2, completion_tokens },
      });
    };

    it("passes a call of an offered function", () => {
      const ok = withTools(
        { tools: [tool], tool_choice: "auto" },
        { finish_reason: "tool_calls", tool_calls: [call("get_weather")] },
      );
      expect(checkRules(ok, policy).status).toBe("pass");
    });

    it("fails a call no tool was offered for, of an unknown function, or against tool_choice", () => {
      const reason = (t: VerificationTask) => checkRules(t, policy).reason;
      expect(reason(withTools({}, { tool_calls: [call("get_weather")] }))).toBe(
        "tool_call_not_allowed",
      );
      expect(
        reason(withTools({ tools: [tool], tool_choice: "auto" }, { tool_calls: [call("rm_rf")] })),
      ).toBe("tool_call_unknown");
      expect(
        reason(
          withTools({ tools: [tool], tool_choice: "none" }, { tool_calls: [call("get_weather")] }),
        ),
      ).toBe("tool_call_not_allowed");
      expect(reason(withTools({ tools: [tool] }, { finish_reason: "tool_calls" }))).toBe(
        "tool_calls_missing",
      );
    });

    it("counts n choices: one per n, and n times max_tokens in all", () => {
      const reason = (t: VerificationTask) => checkRules(t, policy).reason;
      const other = { content: "b", finish_reason: "stop" as const };
      expect(reason(withTools({ n: 2 }, {}))).toBe("choice_count_mismatch");
      expect(reason(withTools({ n: 2 }, { other_choices: [other] }, 20))).toBe("ok");
      expect(reason(withTools({ n: 2 }, { other_choices: [other] }, 21))).toBe(
        "max_tokens_exceeded",
      );
      expect(reason(withTools({}, { other_choices: [{ ...other, content: "forbidden" }] }))).toBe(
        "choice_count_mismatch",
      );
    });
  });
});

describe("checkRules on tool calls' arguments", () => {
  const strict = createVerificationPolicy({
    inferenceNodes: [],
    maxResponseChars: 20,
    denyPatterns: ["forbidden"],
  });
  const tool = { type: "function" as const, function: { name: "f" } };
  const call = (args: string, id = "call_1") => ({
    id,
    type: "function" as const,
    function: { name: "f", arguments: args },
  });
  const withCalls = (calls: ReturnType<typeof call>[], parallel?: false) => {
    const base = chat("");
    return task({
      request: {
        ...base.request,
        tools: [tool],
        tool_choice: "auto",
        ...(parallel === false ? { parallel_tool_calls: false as const } : {}),
      } as VerificationTask["request"],
      response: { kind: "chat", content: "", finish_reason: "tool_calls", tool_calls: calls },
      usage: { prompt_tokens: 2, completion_tokens: 3 },
    });
  };
  const reason = (t: VerificationTask) => checkRules(t, strict).reason;

  it("applies the length and deny rules to arguments as to content", () => {
    expect(reason(withCalls([call('{"a":1}')]))).toBe("ok");
    expect(reason(withCalls([call(`{"a":"${"x".repeat(30)}"}`)]))).toBe("response_too_long");
    expect(reason(withCalls([call('{"a":"forbidden"}')]))).toBe("denied_content");
  });

  it("fails several calls where the request allowed one", () => {
    const two = [call("{}"), call("{}", "call_2")];
    expect(reason(withCalls(two))).toBe("ok");
    expect(reason(withCalls(two, false))).toBe("parallel_tool_calls_not_allowed");
  });
});
