// Test support for settlement co-signing: decided rounds with real receipt and verdict signatures,
// the batch a settler would build from them, and an RPC endpoint (behind a fetch spy) that
// answers the verifier's registry reads with ABI-encoded results, so viem's client code runs.
import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { BATCH_PROPOSAL_HEADER, signBatchProposal } from "@verity/protocol/batch-proposal";
import { type BatchSignRequest, SettlementBatchJson } from "@verity/protocol/batch-sign-request";
import { leafHash } from "@verity/protocol/merkle-leaf";
import { leafFromOutcome, type RoundOutcome } from "@verity/protocol/round-outcome";
import { ledgerDomain } from "@verity/protocol/settlement-batch";
import type { VerdictOutcome } from "@verity/protocol/verdict";
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
import { verifierRegistryAbi } from "../../contracts/generated/VerifierRegistry";
import type { createVerifierApp } from "../../src/workers/verify/app";
import { decidedRound, verdictBy } from "../fixtures/decided-round";

export { verdictBy };

import { nodeAccount, verifierEnv } from "./inference";

const testKey = (label: string) => keccak256(stringToHex(`verity batch test key: ${label}`));

/** Verifier keys for the rounds' verdicts; tests choose which of them the registry lists. */
export const voters: PrivateKeyAccount[] = [0, 1, 2, 3, 4].map((i) =>
  privateKeyToAccount(testKey(`voter ${i}`)),
);
export const CHAIN_ID = 31337;
export const LEDGER: Address = privateKeyToAccount(testKey("ledger")).address;
export const REGISTRY: Address = privateKeyToAccount(testKey("registry")).address;

export interface OutcomeOptions {
  outcome?: RoundOutcome["outcome"];
  /** Who voted what; by default voters 0, 1 and 2 agree with the outcome. */
  votes?: [PrivateKeyAccount, VerdictOutcome][];
  node?: PrivateKeyAccount;
}

/** A decided round as the VerificationRound DO sends it: a signed receipt and signed verdicts. */
export function roundOutcome(options: OutcomeOptions = {}): Promise<RoundOutcome> {
  const outcome = options.outcome ?? "verified";
  const agree = outcome === "verified" ? "valid" : "invalid";
  return decidedRound({
    node: options.node ?? nodeAccount,
    outcome,
    votes:
      options.votes ??
      voters.slice(0, 3).map((v): [PrivateKeyAccount, VerdictOutcome] => [v, agree]),
  });
}

/** `count` outcomes decided by the default votes. */
export const roundOutcomes = (count: number, options: OutcomeOptions = {}) =>
  Promise.all(Array.from({ length: count }, () => roundOutcome(options)));

/**
 * The root a settler commits for `outcomes`: the merkle-tree library's `SimpleMerkleTree` of
 * their leaf hashes, computed by the library rather than by `batchRoot`, which it checks.
 */
export const settlerRoot = (outcomes: readonly RoundOutcome[]): Hex =>
  SimpleMerkleTree.of(outcomes.map((o) => leafHash(leafFromOutcome(o)))).root as Hex;

// Each request gets a batch id of its own: a verifier never signs one id with two roots, and
// its co-signing ledger outlives a test.
let lastBatchId = 0;
const nextBatchId = () => String(++lastBatchId + Date.now() * 1000);

/** The request a settler sends for `outcomes`, for this test chain and ledger. */
export const batchRequest = (
  outcomes: RoundOutcome[],
  batchId = nextBatchId(),
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

/** The settler whose proposals the test verifiers co-sign (their `SETTLER_ADDRESS`). */
export const settler: PrivateKeyAccount = privateKeyToAccount(testKey("settler"));

/**
 * The proposal header the settler sends with `body`: for the body's own batch when it has a
 * well-formed one, else for a fixed batch, so that a malformed body reaches the body's checks.
 */
export async function proposalFor(body: unknown, by: PrivateKeyAccount = settler): Promise<string> {
  const batch = SettlementBatchJson.safeParse((body as { batch?: unknown } | null)?.batch);
  const proposed = batch.success
    ? batch.data
    : { batchId: "1", root: `0x${"11".repeat(32)}`, count: 1 };
  return JSON.stringify(
    await signBatchProposal(proposed as SettlementBatchJson, ledgerDomain(CHAIN_ID, LEDGER), by),
  );
}

/**
 * Posts a body to `/v1/batches/sign` of `app`, with `env` overrides, as the settler would: with
 * its signed proposal of the body's batch (`init.headers` may replace or drop it).
 */
export async function postBatch(
  app: ReturnType<typeof createVerifierApp>,
  body: unknown,
  overrides: Partial<VerifyEnv> = {},
  init: RequestInit = {},
) {
  const parsed = typeof body === "string" ? parseOrNull(body) : body;
  return app.request(
    "/v1/batches/sign",
    {
      method: "POST",
      ...init,
      headers: {
        "content-type": "application/json",
        [BATCH_PROPOSAL_HEADER]: await proposalFor(parsed),
        ...init.headers,
      },
      body: typeof body === "string" ? body : JSON.stringify(body),
    },
    {
      ...verifierEnv,
      CHAIN_ID: String(CHAIN_ID),
      SETTLER_ADDRESS: settler.address,
      ...overrides,
    },
  );
}

function parseOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
