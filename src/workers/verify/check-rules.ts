import { CHECKS, DENY_PATTERN_FLAGS, type VerificationPolicy } from "@verity/protocol/policy";
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
 * - chat: `max_tokens_exceeded` (usage.completion_tokens > max_tokens),
 *   `stop_sequence_in_content` (the text goes on past a stop sequence),
 *   `response_too_long` (more code points than the policy's maxResponseChars),
 *   `denied_content` (a deny-list pattern matches);
 * - embeddings: `embedding_count_mismatch` (not one vector per input),
 *   `embedding_dimension_mismatch` (an empty vector, or vectors of different lengths),
 *   `embedding_not_finite` (NaN or ±Infinity).
 */
export function checkRules(task: VerificationTask, policy: VerificationPolicy): CheckResult {
  const { request, response, usage } = task;
  if (request.kind === "chat" && response.kind === "chat") {
    if (usage.completion_tokens > request.max_tokens) return fail("max_tokens_exceeded");
    if (request.stop.some((stop) => response.content.includes(stop))) {
      return fail("stop_sequence_in_content");
    }
    // Length first: it bounds the text the patterns run over.
    let codePoints = 0;
    for (const _ of response.content) {
      if (++codePoints > policy.rules.maxResponseChars) return fail("response_too_long");
    }
    if (denyList(policy).some((pattern) => pattern.test(response.content))) {
      return fail("denied_content");
    }
    return pass();
  }
  if (request.kind === "embedding" && response.kind === "embedding") {
    const vectors = response.embeddings;
    if (vectors.length !== request.input.length) return fail("embedding_count_mismatch");
    const dimensions = vectors[0]?.length ?? 0;
    if (vectors.some((v) => v.length === 0 || v.length !== dimensions)) {
      return fail("embedding_dimension_mismatch");
    }
    if (vectors.some((v) => v.some((x) => !Number.isFinite(x))))
      return fail("embedding_not_finite");
    return pass();
  }
  return fail("kind_mismatch");
}
