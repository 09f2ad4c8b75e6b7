import { newInferenceId } from "@verity/protocol/inference-id";
import { createVerificationPolicy } from "@verity/protocol/policy";
import type { NormalizedChatRequest } from "@verity/protocol/request";
import type { ChatResponseContent } from "@verity/protocol/response";
import type { VerificationTask } from "@verity/protocol/verification-task";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import {
  type Inference,
  nodeAccount,
  signInference,
  strangerAccount,
  verifierAddress,
} from "../../../test/verify/inference";
import { checkHistory as checkHistoryUnder } from "./check-history";

/** The verifier's policy: it trusts the network's node, and a retired key of it (anvil's public test key #5). */
const retiredNodeKey = privateKeyToAccount(
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
);
const policy = createVerificationPolicy({
  inferenceNodes: [nodeAccount.address, retiredNodeKey.address],
  maxResponseChars: 32768,
  denyPatterns: [],
});
const checkHistory = (task: VerificationTask) => checkHistoryUnder(task, policy);

const request = (messages: NormalizedChatRequest["messages"]): NormalizedChatRequest => ({
  kind: "chat",
  model: "verity-ngram-1",
  messages,
  temperature: 1,
  top_p: 1,
  max_tokens: 16,
  seed: 1,
  stop: [],
});
const answer = (content: string): ChatResponseContent => ({
  kind: "chat",
  content,
  finish_reason: "stop",
});
const usage = { prompt_tokens: 4, completion_tokens: 3 };

const earlier: Inference = {
  request: request([{ role: "user", content: "Tell me about rivers." }]),
  response: answer("Rivers run to the sea."),
  usage,
  backend: "reference",
};

/** A follow-up of `earlier` whose task carries `history` (the earlier record, by default). */
async function followUp(
  options: {
    messages?: NormalizedChatRequest["messages"];
    history?: Partial<NonNullable<VerificationTask["history"]>> | null;
    historyNode?: typeof nodeAccount;
    previousId?: string;
  } = {},
): Promise<VerificationTask> {
  const earlierId = newInferenceId();
  const earlierReceipt = await signInference(earlier, {
    inferenceId: earlierId,
    node: options.historyNode,
  });
  const later: Inference = {
    request: {
      ...request(
        options.messages ?? [
          { role: "user", content: "Tell me about rivers." },
          { role: "assistant", content: "Rivers run to the sea." },
          { role: "user", content: "And the sea?" },
        ],
      ),
      previous_response: { inference_id: options.previousId ?? earlierId },
    },
    response: answer("The sea is salt."),
    usage,
    backend: "reference",
  };
  const receipt = await signInference(later);
  const history =
    options.history === null
      ? undefined
      : {
          request: earlier.request as NormalizedChatRequest,
          response: earlier.response as ChatResponseContent,
          receipt: earlierReceipt,
          ...options.history,
        };
  return {
    inferenceId: receipt.inferenceId,
    request: later.request,
    response: later.response,
    usage,
    receipt,
    ...(history ? { history } : {}),
    verifier: verifierAddress,
    issuedAt: Date.now(),
  };
}

const reason = async (task: Promise<VerificationTask>) => (await checkHistory(await task))?.reason;

describe("checkHistory (history@1)", () => {
  it("does not apply to a request that continues nothing", async () => {
    const receipt = await signInference(earlier);
    const task: VerificationTask = {
      inferenceId: receipt.inferenceId,
      request: earlier.request,
      response: earlier.response,
      usage,
      receipt,
      verifier: verifierAddress,
      issuedAt: Date.now(),
    };
    expect(await checkHistory(task)).toBeNull();
  });

  it("passes a follow-up that starts with the earlier messages and answer, as signed", async () => {
    expect(await checkHistory(await followUp())).toEqual({
      check: "history@1",
      status: "pass",
      reason: "ok",
    });
  });

  it("passes a follow-up of an answer that called a tool: the call is part of the earlier answer", async () => {
    const call = {
      id: "call_1",
      type: "function" as const,
      function: { name: "get_weather", arguments: '{"city":"Paris"}' },
    };
    const withCall: ChatResponseContent = {
      kind: "chat",
      content: "",
      finish_reason: "tool_calls",
      tool_calls: [call],
    };
    const earlierId = newInferenceId();
    const earlierReceipt = await signInference(
      { ...earlier, response: withCall },
      { inferenceId: earlierId },
    );
    const task = await followUp({
      previousId: earlierId,
      history: { response: withCall, receipt: earlierReceipt },
      messages: [
        { role: "user", content: "Tell me about rivers." },
        { role: "assistant", content: "", tool_calls: [call] },
        { role: "tool", content: "{}", tool_call_id: "call_1" },
      ],
    });
    expect((await checkHistory(task))?.status).toBe("pass");
  });

  it("fails a follow-up whose task carries no history: history_missing", async () => {
    expect(await reason(followUp({ history: null }))).toBe("history_missing");
  });

  it("fails a history the request does not name: history_unexpected", async () => {
    const task = await followUp();
    const { previous_response: _, ...request } = task.request as NormalizedChatRequest;
    expect(await checkHistory({ ...task, request })).toMatchObject({
      status: "fail",
      reason: "history_unexpected",
    });
  });

  it("fails the history of another inference: history_wrong_inference", async () => {
    expect(await reason(followUp({ previousId: newInferenceId() }))).toBe(
      "history_wrong_inference",
    );
  });

  it("fails a history signed by a node the policy does not trust: history_other_node", async () => {
    expect(await reason(followUp({ historyNode: strangerAccount }))).toBe("history_other_node");
  });

  it("passes a history signed by another key the policy trusts, as after a key rotation", async () => {
    expect(await reason(followUp({ historyNode: retiredNodeKey }))).toBe("ok");
  });

  it("fails an earlier answer or request altered after signing, by the hash that no longer holds", async () => {
    expect(await reason(followUp({ history: { response: answer("Something else.") } }))).toBe(
      "history_response_hash_mismatch",
    );
    expect(
      await reason(
        followUp({ history: { request: request([{ role: "user", content: "Other." }]) } }),
      ),
    ).toBe("history_request_hash_mismatch");
  });

  it("fails a follow-up whose conversation does not start with the earlier one: history_not_continued", async () => {
    // The earlier answer rewritten in the follow-up, though the history holds.
    expect(
      await reason(
        followUp({
          messages: [
            { role: "user", content: "Tell me about rivers." },
            { role: "assistant", content: "Rivers are dry." },
            { role: "user", content: "And the sea?" },
          ],
        }),
      ),
    ).toBe("history_not_continued");
    // The earlier turns without a new one.
    expect(
      await reason(
        followUp({
          messages: [
            { role: "user", content: "Tell me about rivers." },
            { role: "assistant", content: "Rivers run to the sea." },
          ],
        }),
      ),
    ).toBe("history_not_continued");
  });
});
