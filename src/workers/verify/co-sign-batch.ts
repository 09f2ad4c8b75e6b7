import { batchRoot } from "@verity/protocol/batch-root";
import type { BatchCoSignature, BatchSignRequest } from "@verity/protocol/batch-sign-request";
import { settlementBatchFromJson } from "@verity/protocol/batch-sign-request";
import { checkRoundOutcome } from "@verity/protocol/check-round-outcome";
import { batchDigest, signBatch } from "@verity/protocol/settlement-batch";
import type { Address } from "viem";
import { batchRefusal } from "./batch-refusal";
import { readVerifierRegistry } from "./read-verifier-registry";
import type { SettlementConfig } from "./settlement-config";
import type { SigningLedger } from "./signing-ledger";
import type { VerifierConfig } from "./verifier-config";

/**
 * Signs a settlement batch only after checking all of it: it is for this verifier's chain and
 * ledger, `count` is the number of outcomes, no inference appears twice, the outcomes' leaves
 * make `root`, and every outcome holds (`checkRoundOutcome`) against the on-chain registry, with
 * quorum `max(threshold(), MIN_QUORUM)`, and no record of it is in another batch this verifier
 * co-signed (`ledger`).
 *
 * @throws VerityError 409 for a batch it will not sign (the reason is the `code`), 503
 * `registry_unavailable` or `verifier_misconfigured` when it cannot read the registry.
 */
export async function coSignBatch(
  request: BatchSignRequest,
  config: VerifierConfig,
  settlement: SettlementConfig,
  ledger: Pick<SigningLedger, "claim">,
): Promise<BatchCoSignature> {
  if (request.chainId !== settlement.chainId) {
    throw batchRefusal(
      "chain_mismatch",
      `This verifier signs batches for chain ${settlement.chainId}, not ${request.chainId}.`,
      "chainId",
    );
  }
  if (request.ledger !== settlement.ledger) {
    throw batchRefusal(
      "unknown_ledger",
      `This verifier signs batches only for the ledger ${settlement.ledger}, not ${request.ledger}.`,
      "ledger",
    );
  }
  const { batch, outcomes } = request;
  if (batch.count !== outcomes.length) {
    throw batchRefusal(
      "count_mismatch",
      `The batch claims ${batch.count} records but ${outcomes.length} outcomes were sent.`,
      "batch.count",
    );
  }
  const seen = new Map<string, number>();
  for (const [i, outcome] of outcomes.entries()) {
    const first = seen.get(outcome.inferenceId);
    if (first !== undefined) {
      throw batchRefusal(
        "duplicate_inference",
        `Inference ${outcome.inferenceId} is in the batch twice (outcomes ${first} and ${i}).`,
        `outcomes.${i}`,
      );
    }
    seen.set(outcome.inferenceId, i);
  }
  const root = batchRoot(outcomes);
  if (root !== batch.root) {
    throw batchRefusal(
      "root_mismatch",
      `The outcomes make the root ${root}, not ${batch.root}.`,
      "batch.root",
    );
  }

  const registry = await readVerifierRegistry(settlement);
  // A threshold beyond 2^53 can never be met anyway; clamping keeps the quorum a plain number.
  const threshold =
    registry.threshold > BigInt(Number.MAX_SAFE_INTEGER)
      ? Number.MAX_SAFE_INTEGER
      : Number(registry.threshold);
  const options = {
    trustedNodes: config.policy.receiptIntegrity.inferenceNodes,
    isRegistered: (verifier: Address) => registry.verifiers.has(verifier),
    quorum: Math.max(threshold, settlement.minQuorum),
  };
  for (const [i, outcome] of outcomes.entries()) {
    const checked = await checkRoundOutcome(outcome, options);
    if (!checked.ok) {
      const param = checked.path ? `outcomes.${i}.${checked.path}` : `outcomes.${i}`;
      throw batchRefusal(checked.reason, checked.message, param);
    }
  }

  // Only a batch that checked out binds its records, and only then is it signed.
  const claimed = await ledger.claim({
    batchId: batch.batchId,
    root: batch.root,
    inferenceIds: outcomes.map((o) => o.inferenceId),
  });
  if (!claimed.ok) {
    if (claimed.reason === "batch_id_reused") {
      throw batchRefusal(
        "batch_id_reused",
        `This verifier co-signed batch ${batch.batchId} with the root ${claimed.root}; it signs no other root under that id.`,
        "batch.batchId",
      );
    }
    throw batchRefusal(
      "already_cosigned",
      `Inference ${outcomes[claimed.index]?.inferenceId} is in batch ${claimed.batchId} (root ${claimed.root}), which this verifier co-signed; it signs no record into a second batch.`,
      `outcomes.${claimed.index}`,
    );
  }

  const settlementBatch = settlementBatchFromJson(batch);
  if (config.signer === config.account) {
    return signBatch(settlementBatch, settlement.domain, config.account);
  }
  // wrong-key fault: the answer names the registered address but another key signs.
  const signature = await config.signer.sign({
    hash: batchDigest(settlementBatch, settlement.domain),
  });
  return { signer: config.account.address, signature };
}
