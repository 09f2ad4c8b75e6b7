import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { type Address, getAddress, type Hex, isAddressEqual } from "viem";
import type { ChainView, LedgerBatch, RegistryState } from "./chain-view";
import {
  checkOutcomeReceipt,
  checkOutcomeStrength,
  registeredAgreeing,
} from "./check-round-outcome";
import { committeeScore } from "./committee";
import { leafHash } from "./merkle-leaf";
import { requestHash } from "./request";
import { responseHash } from "./response";
import { leafFromOutcome, verdictsDigest } from "./round-outcome";
import { verifyVerdict } from "./verdict";
import { verifyReceipt } from "./verify-receipt";
import { VerityRecord } from "./verity-record";

/**
 * `pass` and `fail` are the check's result; `pending` means the record has not reached the
 * point the check needs (not decided, not settled, not deep enough yet); `unchecked` means the
 * checker gave nothing to check against (no chain, no list of inference nodes).
 */
export type RecordCheckStatus = "pass" | "fail" | "pending" | "unchecked";

/** One link of a record's chain of evidence. */
export interface RecordCheck {
  /** Which link: stable names, in the order they run (see `RECORD_CHECKS`). */
  check: RecordCheckName;
  status: RecordCheckStatus;
  /** Why it failed, as a reason code (`signer_mismatch`, `root_mismatch`, …); null otherwise. */
  reason: string | null;
  /** What was found, for people. */
  detail: string;
}

/** Every check `verifyRecord` makes, in order. */
export const RECORD_CHECKS = [
  "record",
  "request_hash",
  "response_hash",
  "receipt_signature",
  "inference_node",
  "round",
  "verdicts_digest",
  "verdict_signatures",
  "committee",
  "registry",
  "quorum",
  "leaf",
  "proof",
  "chain_id",
  "root_on_chain",
  "transaction",
  "confirmations",
] as const;
export type RecordCheckName = (typeof RECORD_CHECKS)[number];

export interface RecordVerification {
  /** No check failed. Pending and unchecked links are not failures; `complete` says if any. */
  ok: boolean;
  /** Every check passed: the record is verified and settled, checked against the chain. */
  complete: boolean;
  checks: RecordCheck[];
}

export interface VerifyRecordOptions {
  /** The chain to check settlement and the registry against; without it those are unchecked. */
  chain?: ChainView | undefined;
  /** The inference nodes whose receipts are trusted; without them the signer is only shown. */
  trustedNodes?: readonly Address[] | undefined;
  /** Blocks the settling block needs, itself included, before settlement counts. Default 2. */
  confirmations?: number | undefined;
}

/**
 * Checks one record end to end, trusting only `options.chain` (and `trustedNodes`, while
 * inference nodes are not on-chain): the content against the receipt, the receipt's signature,
 * the decided round's verdicts, committee and quorum of registered verifiers, the settlement
 * leaf, its proof, and the root, transaction and depth on chain. Never throws: a malformed
 * record or a chain that cannot be read is a failed check.
 */
export async function verifyRecord(
  input: unknown,
  options: VerifyRecordOptions = {},
): Promise<RecordVerification> {
  const checks: RecordCheck[] = [];
  const add = (check: RecordCheckName, status: RecordCheckStatus, detail: string, reason = "") =>
    checks.push({ check, status, reason: status === "fail" ? reason || "failed" : null, detail });
  const rest = (from: RecordCheckName, status: RecordCheckStatus, detail: string) => {
    for (const name of RECORD_CHECKS.slice(RECORD_CHECKS.indexOf(from))) add(name, status, detail);
  };
  const done = (): RecordVerification => ({
    ok: checks.every((c) => c.status !== "fail"),
    complete: checks.every((c) => c.status === "pass"),
    checks,
  });

  const parsed = VerityRecord.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    add("record", "fail", `${issue?.path.join(".") || "(root)"}: ${issue?.message}`, "malformed");
    rest("request_hash", "pending", "the record is malformed");
    return done();
  }
  const record = parsed.data;
  const { receipt, round, settlement } = record;
  add("record", "pass", `inference ${record.inferenceId}, ${record.status}`);

  for (const [check, what, computed, signed] of [
    ["request_hash", "request", requestHash(record.request), receipt.requestHash],
    ["response_hash", "response", responseHash(record.response), receipt.responseHash],
  ] as const) {
    if (computed === signed) add(check, "pass", computed);
    else {
      add(
        check,
        "fail",
        `the ${what} hashes to ${computed}; the receipt signed ${signed}`,
        `${check}_mismatch`,
      );
    }
  }

  const signed = await verifyReceipt(receipt);
  if (signed.ok) add("receipt_signature", "pass", `signed by ${signed.signer}`);
  else add("receipt_signature", "fail", signed.message, signed.reason);

  const trusted = options.trustedNodes ?? [];
  if (trusted.length === 0) {
    add("inference_node", "unchecked", `node ${receipt.node}: no list of inference nodes given`);
  } else if (trusted.some((node) => isAddressEqual(node, receipt.node))) {
    add("inference_node", "pass", `${receipt.node} is a listed inference node`);
  } else {
    add("inference_node", "fail", `${receipt.node} is not a listed inference node`, "unknown_node");
  }

  if (!round) {
    add("round", "pending", `not decided yet (${record.status})`);
    rest("verdicts_digest", "pending", "the round is not decided");
    return done();
  }
  const sameReceipt =
    JSON.stringify(round.receipt) === JSON.stringify(receipt) &&
    round.inferenceId === record.inferenceId;
  // The round's own claims, each reported: about this receipt, of no older a version than its
  // messages, and (version 2) as strong as its agreeing verdicts say.
  const roundFailure = sameReceipt
    ? (checkOutcomeReceipt(round) ?? checkOutcomeStrength(round))
    : { reason: "bad_receipt", message: "the round is about another receipt" };
  if (roundFailure) add("round", "fail", roundFailure.message, roundFailure.reason);
  else {
    const strength = round.version === 2 ? `, strength ${round.strength}` : "";
    add(
      "round",
      "pass",
      `${round.outcome}, quorum ${round.quorum}, ${round.verdicts.length} verdicts${strength}`,
    );
  }
  const committed = verdictsDigest(round.verdicts);
  if (committed === round.verdictsDigest) add("verdicts_digest", "pass", round.verdictsDigest);
  else {
    add(
      "verdicts_digest",
      "fail",
      `the verdicts hash to ${committed}, the round says ${round.verdictsDigest}`,
      "verdicts_digest_mismatch",
    );
  }

  const refused: string[] = [];
  let firstReason = "";
  for (const [j, verdict] of round.verdicts.entries()) {
    const checked = await verifyVerdict(verdict);
    const about =
      verdict.inferenceId === record.inferenceId && verdict.receiptDigest === round.receiptDigest;
    if (!checked.ok || !about) {
      firstReason ||= checked.ok ? "wrong_inference" : checked.reason;
      refused.push(
        `verdict ${j} by ${verdict.verifier}: ${checked.ok ? "about another receipt" : checked.message}`,
      );
    }
  }
  if (refused.length === 0) {
    add("verdict_signatures", "pass", `${round.verdicts.length} signed by the verifiers they name`);
  } else add("verdict_signatures", "fail", refused.join("; "), firstReason);

  add(
    ...committeeCheck(
      round.inferenceId,
      round.committee,
      round.verdicts.map((v) => v.verifier),
    ),
  );

  // Membership at the settling block. Before settlement the record names no ledger, and so no
  // registry: those links are pending.
  let registry: RegistryState | undefined;
  let chainFailure = "";
  if (options.chain && settlement) {
    try {
      const registryAddress = await options.chain.registryOf(settlement.ledger);
      registry = await options.chain.registryAt(registryAddress, settlement.blockNumber);
    } catch (err) {
      chainFailure = describe(err);
    }
  }
  const agreeing = await registeredAgreeing(round, (v) => registry?.verifiers.has(v) ?? false);
  const wanted = round.outcome === "verified" ? "valid" : "invalid";
  const needed = Math.max(round.quorum, registry?.threshold ?? 0);
  if (chainFailure) {
    add("registry", "fail", `reading the registry: ${chainFailure}`, "chain_unreadable");
  } else if (!registry) {
    add(
      "registry",
      settlement ? "unchecked" : "pending",
      settlement ? "no chain given" : "not settled yet",
    );
  } else {
    const outsiders = round.verdicts
      .filter((v) => v.outcome === wanted)
      .map((v) => getAddress(v.verifier))
      .filter((v) => !registry.verifiers.has(v));
    if (outsiders.length === 0) {
      add(
        "registry",
        "pass",
        `every agreeing verifier was registered at block ${settlement?.blockNumber}`,
      );
    } else {
      add(
        "registry",
        "fail",
        `not registered at block ${settlement?.blockNumber}: ${outsiders.join(", ")}`,
        "not_registered",
      );
    }
  }
  if (!registry) {
    add(
      "quorum",
      chainFailure ? "fail" : settlement ? "unchecked" : "pending",
      "needs the registry",
      "chain_unreadable",
    );
  } else if (agreeing.length >= needed) {
    add("quorum", "pass", `${agreeing.length} registered '${wanted}' verdicts; ${needed} needed`);
  } else {
    add(
      "quorum",
      "fail",
      `${agreeing.length} registered '${wanted}' verdicts; ${needed} needed (round quorum ${round.quorum}, registry threshold ${registry.threshold})`,
      "insufficient_quorum",
    );
  }

  const leaf = leafHash(leafFromOutcome(round));
  if (!settlement) {
    add("leaf", "pending", `${leaf}, not settled yet`);
    rest("proof", "pending", "not settled yet");
    return done();
  }
  if (leaf === settlement.leafHash) add("leaf", "pass", leaf);
  else {
    add(
      "leaf",
      "fail",
      `the round's leaf is ${leaf}; the settlement says ${settlement.leafHash}`,
      "leaf_mismatch",
    );
  }

  if (!options.chain) {
    add(
      ...proofCheck(settlement.root, leaf, settlement.proof, "the record's root (no chain given)"),
    );
    rest("chain_id", "unchecked", "no chain given");
    return done();
  }
  const chain = options.chain;
  const batchId = BigInt(settlement.batchId);
  let onChain: { chainId: number; batch: LedgerBatch; head: number; included: boolean } | undefined;
  try {
    const [chainId, batch, head, included] = await Promise.all([
      chain.chainId(),
      chain.batch(settlement.ledger, batchId),
      chain.blockNumber(),
      chain.isIncluded(settlement.ledger, batchId, settlement.proof, leaf),
    ]);
    onChain = { chainId, batch, head, included };
  } catch (err) {
    chainFailure = describe(err);
  }
  if (!onChain) {
    add("proof", "fail", `reading the ledger: ${chainFailure}`, "chain_unreadable");
    rest("chain_id", "fail", `reading the ledger: ${chainFailure}`);
    return done();
  }
  // Against the ledger's root, the only one trusted: a wrong root in the record is the next
  // check's to report.
  const proof = proofCheck(
    onChain.batch.root,
    leaf,
    settlement.proof,
    `batch ${batchId}'s root on chain`,
  );
  if (proof[1] === "pass" && !onChain.included) {
    add("proof", "fail", "the ledger's isIncluded answers false", "not_included");
  } else add(...proof);

  if (onChain.chainId === settlement.chainId) add("chain_id", "pass", String(onChain.chainId));
  else {
    add(
      "chain_id",
      "fail",
      `the RPC is chain ${onChain.chainId}; the record says ${settlement.chainId}`,
      "wrong_chain",
    );
  }

  if (BigInt(onChain.batch.root) === 0n) {
    add(
      "root_on_chain",
      "fail",
      `batch ${batchId} is not settled on ${settlement.ledger}`,
      "not_settled",
    );
  } else if (onChain.batch.root !== settlement.root) {
    add(
      "root_on_chain",
      "fail",
      `the ledger's root is ${onChain.batch.root}; the record says ${settlement.root}`,
      "root_mismatch",
    );
  } else add("root_on_chain", "pass", `batch ${batchId} of ${onChain.batch.count} records`);

  const tx = await chain.transaction(settlement.transactionHash).catch(() => null);
  if (!tx?.ok || !tx.to || !isAddressEqual(tx.to, settlement.ledger)) {
    add(
      "transaction",
      "fail",
      `${settlement.transactionHash} is not a successful call to the ledger`,
      "transaction_mismatch",
    );
  } else if (
    tx.blockNumber !== onChain.batch.blockNumber ||
    tx.blockNumber !== settlement.blockNumber
  ) {
    add(
      "transaction",
      "fail",
      `mined in block ${tx.blockNumber}; the ledger says ${onChain.batch.blockNumber}, the record ${settlement.blockNumber}`,
      "transaction_mismatch",
    );
  } else add("transaction", "pass", `${settlement.transactionHash} in block ${tx.blockNumber}`);

  const depth = onChain.head - onChain.batch.blockNumber + 1;
  const wantedDepth = options.confirmations ?? 2;
  if (onChain.batch.blockNumber === 0) add("confirmations", "pending", "not mined");
  else if (depth >= wantedDepth) add("confirmations", "pass", `${depth} blocks deep`);
  else add("confirmations", "pending", `${depth} of ${wantedDepth} blocks deep`);
  return done();
}

function committeeCheck(
  inferenceId: string,
  committee: readonly Address[],
  voters: readonly Address[],
): [RecordCheckName, RecordCheckStatus, string, string?] {
  const scores = committee.map((member) => committeeScore(inferenceId, getAddress(member)));
  for (let i = 1; i < scores.length; i++) {
    if ((scores[i - 1] as Hex) >= (scores[i] as Hex)) {
      return [
        "committee",
        "fail",
        `member ${i} (${committee[i]}) is out of rank order`,
        "committee_mismatch",
      ];
    }
  }
  const outsider = voters.find((v) => !committee.some((m) => isAddressEqual(m, v)));
  if (outsider) {
    return [
      "committee",
      "fail",
      `${outsider} voted but is not on the committee`,
      "committee_mismatch",
    ];
  }
  return ["committee", "pass", `${committee.length} members in rank order; every voter is one`];
}

function proofCheck(
  root: Hex,
  leaf: Hex,
  proof: readonly Hex[],
  against: string,
): [RecordCheckName, RecordCheckStatus, string, string?] {
  let holds = false;
  try {
    holds = SimpleMerkleTree.verify(root, leaf, [...proof]);
  } catch {
    holds = false;
  }
  return holds
    ? [
        "proof",
        "pass",
        `${proof.length} hash${proof.length === 1 ? "" : "es"} from the leaf to ${against}`,
      ]
    : ["proof", "fail", `the proof does not lead from the leaf to ${against}`, "proof_mismatch"];
}

function describe(err: unknown): string {
  const message =
    err instanceof Error
      ? ((err as { shortMessage?: string }).shortMessage ?? err.message)
      : String(err);
  return message.split("\n")[0] ?? "unknown error";
}
