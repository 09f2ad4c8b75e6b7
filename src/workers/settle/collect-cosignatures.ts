import { BATCH_PROPOSAL_HEADER, type BatchProposal } from "@verity/protocol/batch-proposal";
import { BatchCoSignature, type BatchSignRequest } from "@verity/protocol/batch-sign-request";
import {
  type BatchSignature,
  type LedgerDomain,
  recoverBatchSigner,
  type SettlementBatch,
} from "@verity/protocol/settlement-batch";
import type { Address } from "viem";
import type { VerifierEntry } from "../../db/verifier-registry";

/** What asking the verifiers gave: valid co-signatures, and why the others were not. */
export interface CosignResult {
  /** Distinct registered signers, at most `quorum` of them, in the order they were collected. */
  signatures: BatchSignature[];
  /** One line per verifier that did not give a usable signature. */
  refusals: string[];
  /**
   * Outcomes (by index in the request) a verifier refused the batch for, with its code and
   * message: a record that the batch cannot be co-signed with.
   */
  refusedOutcomes: Map<number, string>;
}

/**
 * A co-signer's 409 codes that name one record (`param` `outcomes.<i>…`) as the reason, and that
 * waiting will not cure. `insufficient_quorum` is not one: co-signers read the registry through
 * a cache, so it can lag a change the settler has already seen; that batch waits instead.
 */
const RECORD_REFUSALS = new Set([
  "bad_receipt",
  "unknown_node",
  "verdicts_digest_mismatch",
  "strength_mismatch",
  "version_downgrade",
  "bad_verdict",
  "already_cosigned",
]);

export interface CollectOptions {
  /** Active verifiers, in the order to ask them. */
  verifiers: readonly VerifierEntry[];
  request: BatchSignRequest;
  /** The settler's signed proposal of the batch, without which no verifier reads the request. */
  proposal: BatchProposal;
  batch: SettlementBatch;
  domain: LedgerDomain;
  /** How many distinct registered signers to collect. */
  quorum: number;
  /** Whether the on-chain registry lists `signer`: only those count. */
  isRegistered: (signer: Address) => Promise<boolean>;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

interface Refusal {
  /** One line for the batch's `reason`. */
  line: string;
  /** The outcome it names, if the refusal is about one record. */
  outcome?: { index: number; reason: string };
}

/** Why a verifier's answer is no use, and which record it blames, if one. */
async function refusalOf(verifier: VerifierEntry, response: Response): Promise<Refusal> {
  let detail = "";
  let outcome: Refusal["outcome"];
  try {
    const body = (await response.json()) as {
      error?: { code?: unknown; message?: unknown; param?: unknown };
    };
    const { code, message, param } = body.error ?? {};
    if (typeof code === "string") detail = ` ${code}`;
    if (typeof message === "string") detail += `: ${message}`;
    const index = typeof param === "string" ? /^outcomes\.(\d+)(\.|$)/.exec(param)?.[1] : undefined;
    if (response.status === 409 && typeof code === "string" && RECORD_REFUSALS.has(code) && index) {
      outcome = {
        index: Number(index),
        reason: `${code}${typeof message === "string" ? `: ${message}` : ""}`,
      };
    }
  } catch {
    // Not JSON: the status says enough.
  }
  return { line: `${verifier.address} answered ${response.status}${detail}`, outcome };
}

/**
 * Asks verifiers to co-sign a batch until `quorum` distinct registered verifiers have, a few at
 * a time (as many as are still missing), so honest verifiers do the batch's checking work only
 * as often as needed. Each signature is checked here: it must recover to the signer the
 * verifier names, and that signer must be registered on-chain.
 *
 * @throws VerityError 503 `rpc_unavailable` if the registry cannot be read.
 */
export async function collectCosignatures(options: CollectOptions): Promise<CosignResult> {
  const body = JSON.stringify(options.request);
  const signatures: BatchSignature[] = [];
  const refusals: string[] = [];
  const refusedOutcomes = new Map<number, string>();
  const queue = [...options.verifiers];

  const ask = async (verifier: VerifierEntry): Promise<BatchSignature | string | Refusal> => {
    let response: Response;
    try {
      response = await fetch(new URL("/v1/batches/sign", verifier.url), {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [BATCH_PROPOSAL_HEADER]: JSON.stringify(options.proposal),
        },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (error) {
      return `${verifier.address} did not answer: ${String(error)}`;
    }
    if (!response.ok) return refusalOf(verifier, response);
    let answer: BatchCoSignature;
    try {
      answer = BatchCoSignature.parse(await response.json());
    } catch {
      return `${verifier.address} answered with something that is not a co-signature`;
    }
    const recovered = await recoverBatchSigner(options.batch, options.domain, answer.signature);
    if (!recovered.ok) return `${verifier.address} sent a signature that does not recover`;
    const { signer } = recovered;
    if (signer !== answer.signer) {
      return `${verifier.address} names ${answer.signer} but its signature is by ${signer}`;
    }
    if (!(await options.isRegistered(signer))) {
      return `${verifier.address} signed as ${signer}, which the registry does not list`;
    }
    return { signer, signature: answer.signature };
  };

  while (signatures.length < options.quorum && queue.length > 0) {
    const wave = queue.splice(0, options.quorum - signatures.length);
    // Answers are taken in the order asked, so the result does not depend on who was faster.
    for (const [i, answer] of (await Promise.all(wave.map(ask))).entries()) {
      if (typeof answer === "string") refusals.push(answer);
      else if ("line" in answer) {
        refusals.push(answer.line);
        if (answer.outcome && !refusedOutcomes.has(answer.outcome.index)) {
          refusedOutcomes.set(answer.outcome.index, answer.outcome.reason);
        }
      } else if (signatures.some((s) => s.signer === answer.signer)) {
        refusals.push(`${wave[i]?.address} signed as ${answer.signer}, who has signed already`);
      } else signatures.push(answer);
    }
  }
  return { signatures, refusals, refusedOutcomes };
}
