// Test support for settlement co-signing: decided rounds with real receipt and verdict signatures,
// the batch a settler would build from them, and an RPC endpoint (behind a fetch spy) that
// answers the verifier's registry reads with ABI-encoded results, so viem's client code runs.
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  type Address,
  decodeFunctionData,
  encodeFunctionResult,
  type Hex,
  keccak256,
  numberToHex,
  stringToHex,
} from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { vi } from "vitest";
import { verifierRegistryAbi } from "../../../contracts/generated/VerifierRegistry";
import type { BatchSignRequest } from "../../protocol/batch-sign-request";
import { newInferenceId } from "../../protocol/inference-id";
import { LEAF_TYPES, leafTuple } from "../../protocol/merkle-leaf";
import { receiptDigest, signReceipt } from "../../protocol/receipt";
import { leafFromOutcome, type RoundOutcome, verdictsDigest } from "../../protocol/round-outcome";
import {
  type CheckResult,
  checksDigest,
  signVerdict,
  type Verdict,
  type VerdictOutcome,
} from "../../protocol/verdict";
import type { createVerifierApp } from "./app";
import { nodeAccount, verifierEnv } from "./test-inference";

const testKey = (label: string) => keccak256(stringToHex(`verity batch test key: ${label}`));

/** Verifier keys for the rounds' verdicts; tests choose which of them the registry lists. */
export const voters: PrivateKeyAccount[] = [0, 1, 2, 3, 4].map((i) =>
  privateKeyToAccount(testKey(`voter ${i}`)),
);
export const CHAIN_ID = 31337;
export const LEDGER: Address = privateKeyToAccount(testKey("ledger")).address;
export const REGISTRY: Address = privateKeyToAccount(testKey("registry")).address;
const POLICY_HASH = keccak256(stringToHex("test policy"));

const CHECKS: Record<"valid" | "invalid" | "abstain", CheckResult[]> = {
  valid: [
    { check: "receipt-integrity@1", status: "pass", reason: "ok" },
    { check: "rules@1", status: "pass", reason: "ok" },
    { check: "re-execution@1", status: "pass", reason: "response_hash_matched" },
  ],
  invalid: [
    { check: "receipt-integrity@1", status: "pass", reason: "ok" },
    { check: "rules@1", status: "pass", reason: "ok" },
    { check: "re-execution@1", status: "fail", reason: "response_hash_mismatch" },
  ],
  abstain: [
    { check: "receipt-integrity@1", status: "pass", reason: "ok" },
    { check: "rules@1", status: "pass", reason: "ok" },
    { check: "re-execution@1", status: "skip", reason: "model_unknown" },
  ],
};

/** A verdict on `outcome`'s receipt, signed by `account`. */
export function verdictBy(
  account: PrivateKeyAccount,
  on: Pick<RoundOutcome, "inferenceId" | "receiptDigest">,
  outcome: VerdictOutcome,
): Promise<Verdict> {
  return signVerdict(
    {
      version: 1,
      inferenceId: on.inferenceId,
      receiptDigest: on.receiptDigest,
      outcome,
      checks: CHECKS[outcome],
      checksDigest: checksDigest(CHECKS[outcome]),
      policyHash: POLICY_HASH,
      verifier: account.address,
    },
    account,
  );
}

export interface OutcomeOptions {
  outcome?: RoundOutcome["outcome"];
  /** Who voted what; by default voters 0, 1 and 2 agree with the outcome. */
  votes?: [PrivateKeyAccount, VerdictOutcome][];
  node?: PrivateKeyAccount;
}

/** A decided round as the VerificationRound DO sends it: a signed receipt and signed verdicts. */
export async function roundOutcome(options: OutcomeOptions = {}): Promise<RoundOutcome> {
  const outcome = options.outcome ?? "verified";
  const agree = outcome === "verified" ? "valid" : "invalid";
  const votes =
    options.votes ?? voters.slice(0, 3).map((v): [PrivateKeyAccount, VerdictOutcome] => [v, agree]);
  const node = options.node ?? nodeAccount;
  const inferenceId = newInferenceId();
  const receipt = await signReceipt(
    {
      version: 1,
      inferenceId,
      model: "verity-ngram-1",
      backend: "reference",
      requestHash: keccak256(stringToHex(`request ${inferenceId}`)),
      responseHash: keccak256(stringToHex(`response ${inferenceId}`)),
      createdAt: Date.now(),
      node: node.address,
    },
    node,
  );
  const digest = receiptDigest(receipt);
  const verdicts = await Promise.all(
    votes.map(([account, vote]) =>
      verdictBy(account, { inferenceId, receiptDigest: digest }, vote),
    ),
  );
  return {
    version: 1,
    inferenceId,
    outcome,
    receipt,
    receiptDigest: digest,
    quorum: 2,
    committee: votes.map(([account]) => account.address),
    verdicts,
    verdictsDigest: verdictsDigest(verdicts),
    decidedAt: Date.now(),
  };
}

/** `count` outcomes decided by the default votes. */
export const roundOutcomes = (count: number, options: OutcomeOptions = {}) =>
  Promise.all(Array.from({ length: count }, () => roundOutcome(options)));

/** The root a settler commits for `outcomes`: a default `StandardMerkleTree` of their leaves. */
export const settlerRoot = (outcomes: readonly RoundOutcome[]): Hex =>
  StandardMerkleTree.of(
    outcomes.map((o) => leafTuple(leafFromOutcome(o))),
    LEAF_TYPES,
  ).root as Hex;

/** The request a settler sends for `outcomes`, for this test chain and ledger. */
export const batchRequest = (
  outcomes: RoundOutcome[],
  batchId = "1",
): BatchSignRequest & { batch: { batchId: string } } => ({
  batch: { batchId, root: settlerRoot(outcomes), count: outcomes.length },
  chainId: CHAIN_ID,
  ledger: LEDGER,
  outcomes,
});

let endpoints = 0;

export interface MockChain {
  /** Environment overrides pointing the verifier at this chain (a fresh RPC URL each time). */
  env: Partial<VerifyEnv>;
  /** Every JSON-RPC call answered: `eth_chainId`, or the registry function called. */
  calls: string[];
}

/**
 * Answers JSON-RPC on a fresh URL through a fetch spy: `eth_chainId`, and `eth_call`s of the
 * registry's `verifiers()` and `threshold()`, ABI-encoded. `empty` answers every call with no
 * data, as a chain without a contract at the address does. Restore with `vi.restoreAllMocks()`.
 */
export function mockChain(
  registry: { verifiers: readonly Address[]; threshold: bigint },
  options: { chainId?: number; empty?: boolean } = {},
): MockChain {
  const rpcUrl = `http://rpc-${++endpoints}.test/`;
  const calls: string[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (request.url !== rpcUrl) return new Response("unexpected fetch", { status: 599 });
    const body = (await request.json()) as { id: number; method: string; params: unknown[] };
    const answer = (result: Hex) => Response.json({ jsonrpc: "2.0", id: body.id, result });
    if (body.method === "eth_chainId") {
      calls.push("eth_chainId");
      return answer(numberToHex(options.chainId ?? CHAIN_ID));
    }
    if (body.method !== "eth_call") {
      return Response.json({
        jsonrpc: "2.0",
        id: body.id,
        error: { code: -32601, message: `method ${body.method} not found` },
      });
    }
    const call = body.params[0] as { to: Address; data: Hex };
    const { functionName } = decodeFunctionData({ abi: verifierRegistryAbi, data: call.data });
    calls.push(functionName);
    if (options.empty || call.to.toLowerCase() !== REGISTRY.toLowerCase()) return answer("0x");
    if (functionName === "verifiers") {
      return answer(
        encodeFunctionResult({
          abi: verifierRegistryAbi,
          functionName,
          result: registry.verifiers,
        }),
      );
    }
    if (functionName === "threshold") {
      return answer(
        encodeFunctionResult({
          abi: verifierRegistryAbi,
          functionName,
          result: registry.threshold,
        }),
      );
    }
    throw new Error(`the mock registry does not answer ${functionName}`);
  });
  return { env: { RPC_URL: rpcUrl, REGISTRY_ADDRESS: REGISTRY, LEDGER_ADDRESS: LEDGER }, calls };
}

/** A chain whose RPC endpoint is down: every fetch to it fails as a refused connection does. */
export function downChain(): MockChain {
  const rpcUrl = `http://rpc-${++endpoints}.test/`;
  const calls: string[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    calls.push(new Request(input, init).url);
    throw new TypeError("fetch failed: connection refused");
  });
  return { env: { RPC_URL: rpcUrl, REGISTRY_ADDRESS: REGISTRY, LEDGER_ADDRESS: LEDGER }, calls };
}

/** Posts a body to `/v1/batches/sign` of `app`, with `env` overrides. */
export function postBatch(
  app: ReturnType<typeof createVerifierApp>,
  body: unknown,
  overrides: Partial<VerifyEnv> = {},
  init: RequestInit = {},
) {
  return app.request(
    "/v1/batches/sign",
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
      ...init,
    },
    { ...verifierEnv, CHAIN_ID: String(CHAIN_ID), ...overrides },
  );
}
