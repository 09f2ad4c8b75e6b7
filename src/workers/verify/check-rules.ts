import { CHECKS, DENY_PATTERN_FLAGS, type VerificationPolicy } from "@verity/protocol/policy";
import { chatChoices } from "@verity/protocol/response";
import type { CheckResult } from "@verity/protocol/verdict";
import type { VerificationTask } from "@verity/protocol/verification-task";

const pass = (): CheckResult => ({ check: CHECKS.rules, status: "pass", reason: "ok" });
const fail = (reason: string): CheckResult => ({ check: CHECKS.rules, status: "fail", reason });

// Patterns are compiled once per policy; a policy is immutable once built.
const compiled = new WeakMap<VerificationPolicy, RegExp[]>();
const denyList = (policy: VerificationPolicy) => {
  let patterns = compiled.get(policy);
  if (!patterns) {
    patterns = policy.rules.denyPatterns.map((p) => new RegExp(p, DENY_PATTERN_FLAGS));
    compiled.set(policy, patterns);
  }
  return patterns;
};

/**
 * `rules@1`: what any answer must satisfy whatever the model, checked without running it. The
 * first rule broken is the reason:
 * - `kind_mismatch`: a chat request answered with embeddings or the reverse;
 * - chat: `choice_count_mismatch` (not one choice per `n`), `max_tokens_exceeded`
 *   (usage.completion_tokens > n · max_tokens), and for each choice:
 *   `tool_call_not_allowed` (a tool call where the request offered no tools, or chose "none"
 *   or another function), `tool_call_unknown` (a call of a function the request does not
 *   declare), `tool_calls_missing` (finish reason "tool_calls" with no call),
 *   `parallel_tool_calls_not_allowed` (several calls where the request allowed one),
 *   `stop_sequence_in_content` (the text goes on past a stop sequence),
 *   `response_too_long` (more code points than the policy's maxResponseChars, in the content
 *   and the calls' arguments together), `denied_content` (a deny-list pattern matches either);
 * - embeddings: `embedding_count_mismatch` (not one vector per input),
 *   `embedding_dimension_mismatch` (an empty vector, vectors of different lengths, or not the
 *   `dimensions` the request asked for), `embedding_not_finite` (NaN or ±Infinity).
 */
export function checkRules(task: VerificationTask, policy: VerificationPolicy): CheckResult {
  const { request, response, usage } = task;
  if (request.kind === "chat" && response.kind === "chat") {
    const choices = chatChoices(response);
    const n = request.n ?? 1;
    if (choices.length !== n) return fail("choice_count_mismatch");
    if (usage.completion_tokens > request.max_tokens * n) return fail("max_tokens_exceeded");
    const offered = new Set((request.tools ?? []).map((tool) => tool.function.name));
    const choice = request.tool_choice ?? "auto";
    const allowed = (name: string) =>
      typeof choice === "object" ? choice.function.name === name : choice !== "none";
    for (const answer of choices) {
      const calls = answer.tool_calls ?? [];
      if (calls.length > 1 && request.parallel_tool_calls === false) {
        return fail("parallel_tool_calls_not_allowed");
      }
      for (const call of calls) {
        if (!offered.has(call.function.name)) {
          return fail(offered.size === 0 ? "tool_call_not_allowed" : "tool_call_unknown");
        }
        if (!allowed(call.function.name)) return fail("tool_call_not_allowed");
      }
      if (answer.finish_reason === "tool_calls" && !answer.tool_calls) {
        return fail("tool_calls_missing");
      }
      if (request.stop.some((stop) => answer.content.includes(stop))) {
        return fail("stop_sequence_in_content");
      }
      // A call's arguments are answer text as much as the content is.
      const texts = [answer.content, ...calls.map((call) => call.function.arguments)];
      // Length first: it bounds the text the patterns run over.
      let codePoints = 0;
      for (const text of texts) {
        for (const _ of text) {
          if (++codePoints > policy.rules.maxResponseChars) return fail("response_too_long");
        }
      }
      if (texts.some((text) => denyList(policy).some((pattern) => pattern.test(text)))) {
        return fail("denied_content");
      }
    }
    return pass();
  }
  if (request.kind === "embedding" && response.kind === "embedding") {
    const vectors = response.embeddings;
    if (vectors.length !== request.input.length) return fail("embedding_count_mismatch");
    const dimensions = request.dimensions ?? vectors[0]?.length ?? 0;
    if (vectors.some((v) => v.length === 0 || v.length !== dimensions)) {
      return fail("embedding_dimension_mismatch");
    }
    if (vectors.some((v) => v.some((x) => !Number.isFinite(x))))
      return fail("embedding_not_finite");
    return pass();
  }
  return fail("kind_mismatch");
}
