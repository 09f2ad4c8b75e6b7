// The protocol checks a browser must get right, as one function that runs unchanged in Node and,
// bundled by esbuild, in Chromium: the committed test vectors, and a settled record checked
// against the chain and then tampered with field by field. It returns what it found, not a
// verdict; the test compares the two runtimes' answers and checks them against the vectors.

import { canonicalJson } from "@verity/protocol/canonical";
import { chainView } from "@verity/protocol/chain-view";
import { checkOutcomeDigests } from "@verity/protocol/check-round-outcome";
import { type LeafValues, leafHash } from "@verity/protocol/merkle-leaf";
import { receiptDigest, type UnsignedReceipt } from "@verity/protocol/receipt";
import { type NormalizedRequest, requestHash } from "@verity/protocol/request";
import { type ResponseContent, responseHash } from "@verity/protocol/response";
import { leafFromOutcome, type RoundOutcome } from "@verity/protocol/round-outcome";
import { type UnsignedVerdict, verdictDigest, verifyVerdict } from "@verity/protocol/verdict";
import { verifyReceipt } from "@verity/protocol/verify-receipt";
import { verifyRecord } from "@verity/protocol/verify-record";
import type { VerityRecord } from "@verity/protocol/verity-record";
import { createPublicClient, getAddress, type Hex, http } from "viem";
import { RECORD_TAMPERS } from "../fixtures/record-tampers";

export interface SuiteInput {
  canonical: {
    cases: { name: string; input: string }[];
    rejected: { name: string; input: string }[];
  };
  receipts: {
    vectors: {
      name: string;
      request: NormalizedRequest;
      response: ResponseContent;
      unsignedReceipt: UnsignedReceipt;
      receipt: unknown;
    }[];
    negative: {
      name: string;
      receipt: unknown;
      request?: unknown;
      response?: unknown;
      trustedNodes?: string[];
    }[];
  };
  /** test/vectors/protocol-v2.json, as far as the suite reads it. */
  v2: {
    receipt: { request: NormalizedRequest; response: ResponseContent; signed: UnsignedReceipt };
    unsetReceipt: { signed: UnsignedReceipt };
    verdict: { unsigned: UnsignedVerdict };
    outcome: RoundOutcome;
    leaves: { name: string; values: LeafValues }[];
  };
  record: VerityRecord;
  rpcUrl: string;
  trustedNode: string;
}

export interface SuiteResult {
  /** Case name → canonical JSON, or the error for a rejected input. */
  canonical: Record<string, string>;
  /** Vector name → the hashes and the receipt check, as computed here. */
  receipts: Record<string, { requestHash: Hex; responseHash: Hex; digest: Hex; verified: string }>;
  /** Negative vector name → the refusal reason. */
  negative: Record<string, string>;
  /** The protocol v2 vectors: digests, checks and leaf hashes, as computed here. */
  v2: {
    receiptDigests: Hex[];
    receiptsVerified: string[];
    verdictDigest: Hex;
    verdictsVerified: string[];
    outcomeDigests: string;
    leafFromOutcome: Hex;
    leafHashes: Record<string, Hex>;
  };
  /** The untampered record's checks as `check:status`, then each tamper's failed checks. */
  record: string[];
  tampers: Record<string, string[]>;
}

export async function runProtocolSuite(input: SuiteInput): Promise<SuiteResult> {
  const canonical: SuiteResult["canonical"] = {};
  for (const c of [...input.canonical.cases, ...input.canonical.rejected]) {
    try {
      canonical[c.name] = canonicalJson(JSON.parse(c.input));
    } catch (err) {
      canonical[c.name] = `error: ${(err as Error).name}`;
    }
  }

  const receipts: SuiteResult["receipts"] = {};
  for (const v of input.receipts.vectors) {
    const checked = await verifyReceipt(v.receipt, { request: v.request, response: v.response });
    receipts[v.name] = {
      requestHash: requestHash(v.request),
      responseHash: responseHash(v.response),
      digest: receiptDigest(v.unsignedReceipt),
      verified: checked.ok ? `ok ${checked.signer}` : checked.reason,
    };
  }
  const negative: SuiteResult["negative"] = {};
  for (const n of input.receipts.negative) {
    const checked = await verifyReceipt(n.receipt, {
      request: n.request as NormalizedRequest | undefined,
      response: n.response as ResponseContent | undefined,
      trustedNodes: n.trustedNodes as Hex[] | undefined,
    });
    negative[n.name] = checked.ok ? "ok" : checked.reason;
  }

  const { v2 } = input;
  const v2Receipts = [v2.receipt.signed, v2.unsetReceipt.signed];
  const v2Result: SuiteResult["v2"] = {
    receiptDigests: v2Receipts.map(receiptDigest),
    receiptsVerified: await Promise.all(
      v2Receipts.map(async (receipt) => {
        const checked = await verifyReceipt(receipt, {
          request: v2.receipt.request,
          response: v2.receipt.response,
        });
        return checked.ok ? `ok ${checked.signer}` : checked.reason;
      }),
    ),
    verdictDigest: verdictDigest(v2.verdict.unsigned),
    verdictsVerified: await Promise.all(
      v2.outcome.verdicts.map(async (verdict) => {
        const checked = await verifyVerdict(verdict);
        return checked.ok ? `ok ${checked.signer}` : checked.reason;
      }),
    ),
    outcomeDigests: checkOutcomeDigests(v2.outcome)?.reason ?? "ok",
    leafFromOutcome: leafHash(leafFromOutcome(v2.outcome)),
    leafHashes: Object.fromEntries(v2.leaves.map((l) => [l.name, leafHash(l.values)])),
  };

  const options = {
    chain: chainView(createPublicClient({ transport: http(input.rpcUrl) })),
    trustedNodes: [getAddress(input.trustedNode)],
  };
  const untampered = await verifyRecord(input.record, options);
  const tampers: SuiteResult["tampers"] = {};
  for (const { field, tamper } of RECORD_TAMPERS) {
    const record = structuredClone(input.record);
    tamper(record);
    const verification = await verifyRecord(record, options);
    tampers[field] = verification.checks
      .filter((c) => c.status === "fail")
      .map((c) => `${c.check}:${c.reason}`);
  }
  return {
    canonical,
    receipts,
    negative,
    v2: v2Result,
    record: untampered.checks.map((c) => `${c.check}:${c.status}`),
    tampers,
  };
}
