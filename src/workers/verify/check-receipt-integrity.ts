import type { VerificationPolicy } from "@verity/protocol/policy";
import { CHECKS } from "@verity/protocol/policy";
import type { CheckResult } from "@verity/protocol/verdict";
import type { VerificationTask } from "@verity/protocol/verification-task";
import { verifyReceipt } from "@verity/protocol/verify-receipt";

/**
 * `receipt-integrity@1`: the receipt commits to the task's request and response (both hashes
 * recomputed), its signature recovers to `receipt.node`, and that node is one the policy
 * trusts. The reason of a failure is `verifyReceipt`'s (`request_hash_mismatch`,
 * `untrusted_node`, `signer_mismatch`, ...).
 */
export async function checkReceiptIntegrity(
  task: VerificationTask,
  policy: VerificationPolicy,
): Promise<CheckResult> {
  const result = await verifyReceipt(task.receipt, {
    request: task.request,
    response: task.response,
    trustedNodes: policy.receiptIntegrity.inferenceNodes,
  });
  return {
    check: CHECKS.receiptIntegrity,
    status: result.ok ? "pass" : "fail",
    reason: result.ok ? "ok" : result.reason,
  };
}
