import { env } from "cloudflare:workers";
import {
  type NormalizedChatRequest,
  newInferenceId,
  type ResponseContent,
  signReceipt,
} from "@verity/protocol";
import { type Hex, keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { vi } from "vitest";
import type { ModelInfo } from "../src/backends/backend";
import { collectChatResponse } from "../src/backends/chat-response";
import { REFERENCE_MODELS, referenceBackend } from "../src/backends/reference";
import { VerifierRegistry } from "../src/db/verifier-registry";
import { nodeAccount } from "../src/workers/infer/node-account";
import { recordInference } from "../src/workers/infer/record-inference";
import { createVerifierApp } from "../src/workers/verify/app";
import { verifierConfig } from "../src/workers/verify/verifier-config";
import { forgetfulSigningLedger } from "./fixtures/signing-ledger";
import { createTestKey } from "./gateway";

/** `busy` answers every task 503 with retry-after, as an overloaded verifier sheds load. */
export type FaultMode = "" | "always-invalid" | "silent" | "wrong-key" | "busy";

export interface FakeVerifier {
  index: number;
  address: `0x${string}`;
  url: string;
  mode: FaultMode;
  /** Task requests this verifier received. */
  tasks: number;
}

const coordinator = privateKeyToAccount(env.COORDINATOR_KEY as Hex);
const inferenceNode = privateKeyToAccount(env.INFERENCE_NODE_KEY as Hex);

/**
 * Real verifier apps (src/workers/verify), each with its own key, reachable at
 * `http://verifier-N.test` through a spy on `fetch`: the round's HTTP calls run the real
 * verifier code in this isolate. Registered and freshly seen in the D1 registry.
 */
export async function startVerifierNetwork(modes: FaultMode[]) {
  const now = Date.now();
  // The network under test is the whole registry: earlier tests' verifiers must not be picked.
  await env.DB.prepare("delete from verifiers").run();
  const registry = new VerifierRegistry(env.DB);
  const verifiers: (FakeVerifier & {
    app: ReturnType<typeof createVerifierApp>;
    env: VerifyEnv;
  })[] = [];
  for (const [index, mode] of modes.entries()) {
    const key = keccak256(toHex(`verity test verifier ${index}`));
    const { address } = privateKeyToAccount(key);
    const url = `http://verifier-${index}.test`;
    const verifierEnv = {
      VERIFIER_KEY: key,
      COORDINATOR_URL: "http://gateway.test",
      COORDINATOR_ADDRESS: coordinator.address,
      INFERENCE_NODES: inferenceNode.address,
      PUBLIC_URL: url,
      HEARTBEAT_INTERVAL_MS: "10000",
      TASK_MAX_AGE_MS: "60000",
      MAX_RESPONSE_CHARS: "32768",
      DENY_PATTERNS: "[]",
      EMBEDDING_MIN_COSINE: "0.9999",
      FAULT_MODE: mode === "busy" ? "" : mode,
      BACKENDS: "reference",
      OPENAI_COMPAT_URL: "",
      OPENAI_COMPAT_MODELS: "",
      SIGNING_LEDGER: forgetfulSigningLedger,
    } as unknown as VerifyEnv;
    verifiers.push({
      index,
      address,
      url,
      mode,
      tasks: 0,
      app: createVerifierApp(),
      env: verifierEnv,
    });
    await registry.register(address, url, now);
    await registry.recordHeartbeat(
      {
        timestamp: now,
        address,
        url,
        // The policy the verifier app signs its verdicts under, as its real heartbeat says.
        policyHash: verifierConfig(verifierEnv).policyHash,
        version: "test",
        models: [],
      },
      now,
    );
  }
  const realFetch = globalThis.fetch;
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const verifier = verifiers.find((v) => request.url.startsWith(v.url));
    if (!verifier) return realFetch(input, init);
    verifier.tasks++;
    if (verifier.mode === "silent") {
      // The verifier's own silent mode is tested with the verifier; here the line stays open
      // until the caller gives up. (Settled only from the caller's own context: a Durable
      // Object's promises cannot be resolved from another one's.)
      return new Promise<Response>((_, reject) => {
        request.signal.addEventListener(
          "abort",
          () => reject(new Error("verifier never answered")),
          {
            once: true,
          },
        );
      });
    }
    if (verifier.mode === "busy") {
      return Response.json(
        { error: { message: "busy", type: "service_unavailable", code: "overloaded" } },
        { status: 503, headers: { "retry-after": "1" } },
      );
    }
    return verifier.app.fetch(request, verifier.env, {
      waitUntil() {},
      passThroughOnException() {},
      props: {},
    } as unknown as ExecutionContext);
  });
  return {
    verifiers,
    byAddress: (address: string) =>
      verifiers.find((v) => v.address.toLowerCase() === address.toLowerCase()),
    restore: () => spy.mockRestore(),
  };
}

const chatModel = REFERENCE_MODELS.find((m) => m.id === "verity-ngram-1") as ModelInfo;

/**
 * Stores a chat inference exactly as the gateway does (real backend, signed receipt, D1
 * record), without starting its round: the test decides when and how the round runs.
 * `tamper` changes the stored response after signing, as a lying gateway would.
 */
export async function storeChatInference(
  options: {
    tamper?: (response: ResponseContent & { kind: "chat" }) => ResponseContent;
    /** More tokens make a longer deadline (see task-deadline.ts). */
    maxTokens?: number;
    /** 1: the record of a call served before protocol v2, its receipt re-signed as version 1. */
    receiptVersion?: 1;
    /** Fields of the canonical request to set: tools, a response format, n, logprobs... */
    request?: Partial<NormalizedChatRequest>;
  } = {},
) {
  const { id: apiKeyId, key } = await createTestKey();
  const request: NormalizedChatRequest = {
    kind: "chat",
    model: chatModel.id,
    messages: [{ role: "user", content: "Tell me about rivers and the sea." }],
    temperature: 0.7,
    top_p: 1,
    max_tokens: options.maxTokens ?? 24,
    seed: 42,
    stop: [],
    ...options.request,
  };
  const { kind: _, ...input } = request;
  const {
    response: honest,
    promptTokens,
    completionTokens,
  } = await collectChatResponse(referenceBackend, chatModel, input);
  const id = newInferenceId();
  await recordInference(env, {
    id,
    apiKeyId,
    backend: "reference",
    request,
    response: options.tamper ? options.tamper(honest) : honest,
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
    stream: false,
    user: undefined,
  });
  if (options.receiptVersion === 1) {
    const row = await env.DB.prepare("select receipt from inferences where id = ?")
      .bind(id)
      .first<{ receipt: string }>();
    const {
      version: _,
      modelDigest: __,
      fee: ___,
      signature: ____,
      ...fields
    } = JSON.parse(row?.receipt ?? "{}");
    const v1 = await signReceipt({ version: 1, ...fields }, nodeAccount(env));
    await env.DB.prepare("update inferences set receipt = ? where id = ?")
      .bind(JSON.stringify(v1), id)
      .run();
  }
  return { id, key, request, response: honest };
}
