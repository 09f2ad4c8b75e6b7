import { canonicalJson } from "@verity/protocol/canonical";
import { CHECKS, type VerificationPolicy } from "@verity/protocol/policy";
import type { CheckResult } from "@verity/protocol/verdict";
import { continuedMessages, type VerificationTask } from "@verity/protocol/verification-task";
import { verifyReceipt } from "@verity/protocol/verify-receipt";

const pass = (): CheckResult => ({ check: CHECKS.history, status: "pass", reason: "ok" });
const fail = (reason: string): CheckResult => ({ check: CHECKS.history, status: "fail", reason });

/**
 * `history@1`: a request that continues an earlier response (`request.previous_response`) is
 * judged with the earlier record, which the task carries as `history`. Without this check a
 * gateway could write any "earlier turns" into a follow-up and have it verified, since
 * re-execution only proves the answer follows from the messages as written. The first failure
 * is the reason:
 * - `history_missing`: the request names a previous response and the task carries none;
 * - `history_unexpected`: the task carries a history the request does not name;
 * - `history_wrong_inference`: the history's receipt is not the named inference's;
 * - `history_other_node`: the history's receipt is not signed by a node the policy trusts;
 * - `history_` + `verifyReceipt`'s reason: the history's receipt does not hold, or does not
 *   commit to its request and response (`history_response_hash_mismatch` for an earlier answer
 *   altered after signing, `history_request_hash_mismatch`, `history_signer_mismatch`...);
 * - `history_not_continued`: the request's messages do not start with the earlier messages
 *   followed by the earlier answer (choice 0).
 *
 * Returns null for a task that neither names nor carries a history: the check does not apply,
 * and its verdict lists the other three checks only.
 */
export async function checkHistory(
  task: VerificationTask,
  policy: VerificationPolicy,
): Promise<CheckResult | null> {
  const { request, history } = task;
  const previous = request.kind === "chat" ? request.previous_response : undefined;
  if (!previous && !history) return null;
  if (!previous) return fail("history_unexpected");
  if (!history) return fail("history_missing");
  if (history.receipt.inferenceId !== previous.inference_id) return fail("history_wrong_inference");

  const receipt = await verifyReceipt(history.receipt, {
    request: history.request,
    response: history.response,
    // Any node the policy trusts: the earlier answer may have been signed before the node's
    // key was rotated, and the earlier record's own round judged it under the same policy.
    trustedNodes: [...policy.receiptIntegrity.inferenceNodes],
  });
  if (!receipt.ok) {
    return fail(
      receipt.reason === "untrusted_node" ? "history_other_node" : `history_${receipt.reason}`,
    );
  }

  const earlier = continuedMessages(history);
  if (request.kind !== "chat" || request.messages.length <= earlier.length) {
    return fail("history_not_continued");
  }
  // Canonical JSON compares the messages as they are hashed, whatever their key order.
  const same = earlier.every(
    (message, i) => canonicalJson(message) === canonicalJson(request.messages[i]),
  );
  return same ? pass() : fail("history_not_continued");
}
