import { CHECKS, type VerificationPolicy } from "@verity/protocol/policy";
import { responseHash } from "@verity/protocol/response";
import type { CheckResult } from "@verity/protocol/verdict";
import type { VerificationTask } from "@verity/protocol/verification-task";
import type { ModelInfo } from "../../backends/backend";
import { collectChatResponse } from "../../backends/chat-response";
import type { ModelRegistry } from "../../backends/registry";
import { VerityError } from "../../errors";
import { cosineSimilarity } from "./cosine-similarity";

const result = (status: CheckResult["status"], reason: string): CheckResult => ({
  check: CHECKS.reExecution,
  status,
  reason,
});

/** How long a re-execution may take before the verifier gives up on it (and abstains). */
export const RE_EXECUTION_TIMEOUT_MS = 30_000;

/**
 * `re-execution@1`: for a model the registry marks deterministic, runs the request on this
 * verifier's own backend and compares: chat answers by exact `responseHash` (every choice's
 * text or tool calls, logprobs and finish reason), embeddings vector by vector by cosine similarity ≥ the policy's threshold.
 *
 * - pass `response_hash_matched` / `embeddings_matched`;
 * - fail `response_hash_mismatch`, `embedding_shape_mismatch` (another count or dimension),
 *   `embedding_below_threshold`, `model_kind_mismatch` (an embedding model asked to chat or
 *   the reverse, which no honest node does);
 * - skip `not_deterministic`: nothing to re-run, by design;
 * - skip `model_unknown` / `model_unavailable`: the verifier does not know the model, or knows
 *   it but could not run it. It cannot tell, so the verdict abstains (see `verdictOutcome`).
 */
export async function checkReExecution(
  task: VerificationTask,
  policy: VerificationPolicy,
  models: ModelRegistry,
): Promise<CheckResult> {
  let model: ModelInfo;
  try {
    model = models.get(task.request.model);
  } catch (error) {
    if (error instanceof VerityError && error.status === 404)
      return result("skip", "model_unknown");
    return result("skip", "model_unavailable");
  }
  if (!model.deterministic) return result("skip", "not_deterministic");
  if (model.kind !== task.request.kind) return result("fail", "model_kind_mismatch");

  const signal = AbortSignal.timeout(RE_EXECUTION_TIMEOUT_MS);
  try {
    const backend = models.backendFor(model);
    if (task.request.kind === "chat") {
      const { kind: _, ...input } = task.request;
      const { response } = await collectChatResponse(backend, model, input, signal);
      const matched = responseHash(response) === responseHash(task.response);
      return matched
        ? result("pass", "response_hash_matched")
        : result("fail", "response_hash_mismatch");
    }
    if (task.response.kind !== "embedding") return result("fail", "model_kind_mismatch");
    const claimed = task.response.embeddings;
    // The gateway rounds vectors to float32 before hashing; so does this, to compare like with like.
    const { kind: _, ...request } = task.request;
    const computed = (await backend.embed(model, request, signal)).embeddings.map((v) =>
      v.map(Math.fround),
    );
    if (
      computed.length !== claimed.length ||
      computed.some((v, i) => v.length !== claimed[i]?.length)
    ) {
      return result("fail", "embedding_shape_mismatch");
    }
    const threshold = policy.reExecution.embeddingMinCosine;
    const below = computed.some((v, i) => !(cosineSimilarity(v, claimed[i] ?? []) >= threshold));
    return below
      ? result("fail", "embedding_below_threshold")
      : result("pass", "embeddings_matched");
  } catch (error) {
    // The verifier's own backend failed (or timed out): that says nothing about the node.
    console.warn(`re-execution of ${task.inferenceId} (${model.id}) failed`, error);
    return result("skip", "model_unavailable");
  }
}
