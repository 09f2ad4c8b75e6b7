// Test support for the settler: decided rounds with real receipt and verdict signatures, their
// gateway records, deliveries through the worker's queue handler, co-signing verifiers that run
// the real verifier app (src/workers/verify) behind a fetch spy, and anvil controls.

import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { RoundOutcome } from "@verity/protocol";
import {
  type Address,
  createPublicClient,
  type Hex,
  http,
  keccak256,
  numberToHex,
  stringToHex,
} from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { vi } from "vitest";
import { verityLedgerAbi } from "../../contracts/generated/VerityLedger";
import { apiKeyPrefix, generateApiKey, hashApiKey, newApiKeyId } from "../../src/db/api-keys";
import { VerifierRegistry } from "../../src/db/verifier-registry";
import worker from "../../src/workers/settle/index";
import { createVerifierApp } from "../../src/workers/verify/app";
import { decidedRound as decidedRoundFixture } from "../fixtures/decided-round";
import { forgetfulSigningLedger } from "../fixtures/signing-ledger";
import { COORDINATOR_ADDRESS, NODE_KEY, VERIFIER_KEYS, verifierAccounts } from "./keys";

export const settleEnv: SettleEnv = env;
export const nodeAccount = privateKeyToAccount(NODE_KEY);

// Captured before any spy: the tests' own chain reads and anvil controls never go "down".
const realFetch = globalThis.fetch;

const POLICY_HASH = keccak256(stringToHex("settle test policy"));
/**
 * A decided round as the VerificationRound DO publishes it: a receipt signed by the inference
 * node and a verdict from every registered verifier agreeing with `outcome`.
 */
export function decidedRound(outcome: RoundOutcome["outcome"] = "verified"): Promise<RoundOutcome> {
  const vote = outcome === "verified" ? "valid" : "invalid";
  return decidedRoundFixture({
    node: nodeAccount,
    outcome,
    votes: verifierAccounts.map((account) => [account, vote]),
  });
}

/** A fresh API key row; returns its id. */
export async function createApiKey(): Promise<string> {
  const key = generateApiKey();
  const id = newApiKeyId();
  await env.DB.prepare(
    "insert into api_keys (id, name, key_hash, prefix, created_at) values (?, 'settle test', ?, ?, ?)",
  )
    .bind(id, await hashApiKey(key), apiKeyPrefix(key), Date.now())
    .run();
  return id;
}

/** The gateway's record of a decided inference, with the status its round gave it. */
export async function storeInference(outcome: RoundOutcome, apiKeyId: string): Promise<void> {
  const { receipt } = outcome;
  await env.DB.prepare(
    `insert into inferences (id, api_key_id, kind, model, backend, request, response, usage, receipt,
       request_hash, response_hash, stream, status, created_at)
     values (?, ?, 'chat', ?, ?, '{}', '{}', '{}', ?, ?, ?, 0, ?, ?)`,
  )
    .bind(
      outcome.inferenceId,
      apiKeyId,
      receipt.model,
      receipt.backend,
      JSON.stringify(receipt),
      receipt.requestHash,
      receipt.responseHash,
      outcome.outcome,
      receipt.createdAt,
    )
    .run();
}

/** Decided rounds with their gateway records, as the queue will deliver them. */
export async function decidedInferences(
  outcomes: RoundOutcome["outcome"][],
  apiKeyId: string,
): Promise<RoundOutcome[]> {
  const rounds = await Promise.all(outcomes.map((o) => decidedRound(o)));
  for (const round of rounds) await storeInference(round, apiKeyId);
  return rounds;
}

let messages = 0;

/** Delivers bodies to the worker's queue handler as one batch; returns what it acked and retried. */
export async function deliver(
  bodies: readonly unknown[],
  options: { attempts?: number; queue?: string } = {},
) {
  const batch = createMessageBatch(
    options.queue ?? "verified-inferences",
    bodies.map((body) => ({
      id: `message-${++messages}`,
      timestamp: new Date(),
      attempts: options.attempts ?? 1,
      body,
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, settleEnv, ctx);
  const result = await getQueueResult(batch, ctx);
  return { ids: batch.messages.map((m) => m.id), ...result };
}

/** Sends a JSON-RPC request straight to anvil (never through the fetch spy). */
export async function anvil<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
  const response = await realFetch(settleEnv.RPC_URL, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

export const mine = (blocks = 1) => anvil("anvil_mine", [numberToHex(blocks)]);
export const setAutomine = (on: boolean) => anvil("evm_setAutomine", [on]);

/** The tests' view of the chain, never through the fetch spy. */
export const chain = createPublicClient({
  transport: http(settleEnv.RPC_URL, { fetchFn: (input, init) => realFetch(input, init) }),
});

/** Every `BatchSettled` event of the test ledger on the canonical chain. */
export async function settledEvents() {
  const logs = await chain.getContractEvents({
    address: settleEnv.LEDGER_ADDRESS as Address,
    abi: verityLedgerAbi,
    eventName: "BatchSettled",
    fromBlock: 0n,
    strict: true,
  });
  return logs.map((log) => ({
    batchId: Number(log.args.batchId),
    root: log.args.root,
    count: log.args.count,
    txHash: log.transactionHash,
    blockNumber: Number(log.blockNumber),
  }));
}

export const settlerAccount = privateKeyToAccount(settleEnv.SETTLER_KEY as Hex);
export const settler = () => settleEnv.SETTLER.getByName(settlerAccount.address);

/**
 * How a co-signing verifier behaves: "" honest, "down" (connection refused), or one of the
 * verifier's own fault modes ("always-invalid" refuses, "wrong-key" signs with another key).
 */
export type CosignerMode = "" | "down" | "always-invalid" | "wrong-key";

/**
 * The registered verifiers as co-signers at `http://cosigner-N.test`, each the real verifier
 * app with its own key, reached through a spy on `fetch`; `state.rpcDown` makes the RPC endpoint
 * refuse connections for everyone (settler and verifiers), `state.failMethods` only the JSON-RPC
 * methods named. Restore with `restore()`.
 */
export async function startCosigners(modes: CosignerMode[] = ["", "", ""]) {
  await env.DB.prepare("delete from verifiers").run();
  const registry = new VerifierRegistry(env.DB);
  const now = Date.now();
  const cosigners = VERIFIER_KEYS.map((key, index) => {
    const account: PrivateKeyAccount = privateKeyToAccount(key);
    return {
      index,
      account,
      url: `http://cosigner-${index}.test`,
      mode: modes[index] ?? "",
      requests: 0,
      app: createVerifierApp(),
    };
  });
  for (const c of cosigners) {
    await registry.register(c.account.address, c.url, now);
    await registry.recordHeartbeat(
      {
        timestamp: now,
        address: c.account.address,
        url: c.url,
        policyHash: POLICY_HASH,
        version: "test",
        models: [],
      },
      now - c.index,
    );
  }
  const state = { rpcDown: false, rpcCalls: 0, failMethods: new Set<string>() };
  const verifierEnv = (c: (typeof cosigners)[number]) =>
    ({
      VERIFIER_KEY: VERIFIER_KEYS[c.index],
      COORDINATOR_URL: "http://gateway.test",
      COORDINATOR_ADDRESS,
      INFERENCE_NODES: nodeAccount.address,
      PUBLIC_URL: c.url,
      HEARTBEAT_INTERVAL_MS: "10000",
      TASK_MAX_AGE_MS: "60000",
      MAX_RESPONSE_CHARS: "32768",
      DENY_PATTERNS: "[]",
      EMBEDDING_MIN_COSINE: "0.9999",
      FAULT_MODE: c.mode === "down" ? "" : c.mode,
      BACKENDS: "reference",
      OPENAI_COMPAT_URL: "",
      OPENAI_COMPAT_MODELS: "",
      RPC_URL: settleEnv.RPC_URL,
      CHAIN_ID: settleEnv.CHAIN_ID,
      REGISTRY_ADDRESS: settleEnv.REGISTRY_ADDRESS,
      LEDGER_ADDRESS: settleEnv.LEDGER_ADDRESS,
      SETTLER_ADDRESS: settlerAccount.address,
      MIN_QUORUM: "2",
      SIGNING_LEDGER: forgetfulSigningLedger,
    }) as unknown as VerifyEnv;
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const cosigner = cosigners.find((c) => request.url.startsWith(c.url));
    if (cosigner) {
      cosigner.requests++;
      if (cosigner.mode === "down") throw new TypeError("fetch failed: connection refused");
      return cosigner.app.fetch(request, verifierEnv(cosigner), {
        waitUntil() {},
        passThroughOnException() {},
        props: {},
      } as unknown as ExecutionContext);
    }
    if (request.url.startsWith(settleEnv.RPC_URL)) {
      state.rpcCalls++;
      if (state.rpcDown) throw new TypeError("fetch failed: connection refused");
      if (state.failMethods.size > 0) {
        const { method } = (await request.clone().json()) as { method: string };
        if (state.failMethods.has(method)) throw new TypeError(`fetch failed during ${method}`);
      }
    }
    return realFetch(request);
  });
  return {
    cosigners,
    state,
    setMode(index: number, mode: CosignerMode) {
      const cosigner = cosigners[index];
      if (cosigner) cosigner.mode = mode;
    },
    restore: () => spy.mockRestore(),
  };
}
