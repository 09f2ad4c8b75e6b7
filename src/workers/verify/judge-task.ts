import { CHECKS } from "@verity/protocol/policy";
import { receiptDigest } from "@verity/protocol/receipt";
import {
  checksDigest,
  signVerdict,
  type UnsignedVerdict,
  type Verdict,
  verdictDigest,
  verdictOutcome,
} from "@verity/protocol/verdict";
import { UNSET_STRENGTH } from "@verity/protocol/verification-strength";
import type { VerificationTask } from "@verity/protocol/verification-task";
import { checkHistory } from "./check-history";
import { checkReExecution } from "./check-re-execution";
import { checkReceiptIntegrity } from "./check-receipt-integrity";
import { checkRules } from "./check-rules";
import type { VerifierConfig } from "./verifier-config";

/**
 * Runs the policy's checks on an accepted task and signs the verdict (`history@1` only on a
 * request that continues an earlier response). Re-execution is skipped
 * (`integrity_failed`) when the receipt does not hold: re-running a request the receipt does
 * not commit to proves nothing, and the verdict is invalid anyway.
 */
export async function judgeTask(task: VerificationTask, config: VerifierConfig): Promise<Verdict> {
  const integrity = await checkReceiptIntegrity(task, config.policy);
  const rules = checkRules(task, config.policy);
  // Only a request that continues an earlier response has a history to check (null otherwise).
  const history = await checkHistory(task, config.policy);
  const reExecution =
    integrity.status === "pass"
      ? await checkReExecution(task, config.policy, config.models)
      : { check: CHECKS.reExecution, status: "skip" as const, reason: "integrity_failed" };
  // always-invalid lies consistently: it claims the rules check failed, so its verdict's outcome
  // still follows from its checks (a round refuses one whose outcome does not).
  const claimedRules =
    config.faultMode === "always-invalid"
      ? { check: rules.check, status: "fail" as const, reason: "fault_mode" }
      : rules;
  const checks = history
    ? [integrity, claimedRules, history, reExecution]
    : [integrity, claimedRules, reExecution];
  const unsigned: UnsignedVerdict = {
    version: 2,
    inferenceId: task.inferenceId,
    receiptDigest: receiptDigest(task.receipt),
    outcome: verdictOutcome(checks),
    checks,
    checksDigest: checksDigest(checks),
    policyHash: config.policyHash,
    verifier: config.account.address,
    // Every verdict is `unset` until the verification-strength issue grades the checks.
    ...UNSET_STRENGTH,
  };
  if (config.signer === config.account) return signVerdict(unsigned, config.account);
  // wrong-key fault: the verdict names the registered address but another key signs it.
  return { ...unsigned, signature: await config.signer.sign({ hash: verdictDigest(unsigned) }) };
}
