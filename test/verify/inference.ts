// Test support: inferences made the way the gateway makes them (reference backend, normalised
// request, float32 embeddings, receipt signed by the node) and tasks signed by the coordinator.

import { env } from "cloudflare:workers";
import { newInferenceId } from "@verity/protocol/inference-id";
import { type Receipt, signReceipt } from "@verity/protocol/receipt";
import {
  type NormalizedChatRequest,
  type NormalizedEmbeddingRequest,
  type NormalizedRequest,
  requestHash,
} from "@verity/protocol/request";
import { type ResponseContent, responseHash } from "@verity/protocol/response";
import { signTaskEnvelope, TASK_ENVELOPE_HEADER } from "@verity/protocol/task-envelope";
import {
  type SignedTask,
  signTask,
  type TaskUsage,
  type VerificationTask,
} from "@verity/protocol/verification-task";
import { privateKeyToAccount } from "viem/accounts";
import type { ModelInfo } from "../../src/backends/backend";
import { collectChatResponse } from "../../src/backends/chat-response";
import { REFERENCE_MODELS, referenceBackend } from "../../src/backends/reference/index";
import type { createVerifierApp } from "../../src/workers/verify/app";

// anvil's well-known test keys (see vitest.verify.config.ts).
export const nodeAccount = privateKeyToAccount(
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
);
export const coordinatorAccount = privateKeyToAccount(
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
);
/** anvil #6: a key nobody configured. */
export const strangerAccount = privateKeyToAccount(
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
);
export const verifierEnv: VerifyEnv = env;
export const verifierAddress = privateKeyToAccount(
  verifierEnv.VERIFIER_KEY as `0x${string}`,
).address;

export interface Inference {
  request: NormalizedRequest;
  response: ResponseContent;
  usage: TaskUsage;
  backend: string;
}

const model = (id: string): ModelInfo => {
  const found = REFERENCE_MODELS.find((m) => m.id === id);
  if (!found) throw new Error(`no reference model ${id}`);
  return found;
};

/** A chat completion by the reference backend, recorded as the gateway records it. */
export async function chatInference(
  changes: Partial<NormalizedChatRequest> = {},
): Promise<Inference> {
  const request: NormalizedChatRequest = {
    kind: "chat",
    model: "verity-ngram-1",
    messages: [{ role: "user", content: "Tell me about rivers and the sea." }],
    temperature: 0.7,
    top_p: 1,
    max_tokens: 24,
    seed: 42,
    stop: [],
    ...changes,
  };
  const { kind: _, ...input } = request;
  const { response, promptTokens, completionTokens } = await collectChatResponse(
    referenceBackend,
    model(request.model),
    input,
  );
  return {
    request,
    response,
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens },
    backend: "reference",
  };
}

/** An embedding by the reference backend, rounded to float32 as the gateway does. */
export async function embeddingInference(
  input = ["rivers run to the sea", "a quiet harbour"],
): Promise<Inference> {
  const request: NormalizedEmbeddingRequest = { kind: "embedding", model: "verity-embed-1", input };
  const result = await referenceBackend.embed(model(request.model), {
    model: request.model,
    input,
  });
  return {
    request,
    response: { kind: "embedding", embeddings: result.embeddings.map((v) => v.map(Math.fround)) },
    usage: { prompt_tokens: result.usage.promptTokens, completion_tokens: 0 },
    backend: "reference",
  };
}

/** The receipt `node` signs for `inference`, exactly as the gateway signs it. */
export function signInference(
  inference: Inference,
  options: { node?: typeof nodeAccount; inferenceId?: string } = {},
): Promise<Receipt> {
  const node = options.node ?? nodeAccount;
  return signReceipt(
    {
      version: 1,
      inferenceId: options.inferenceId ?? newInferenceId(),
      model: inference.request.model,
      backend: inference.backend,
      requestHash: requestHash(inference.request),
      responseHash: responseHash(inference.response),
      createdAt: Date.now(),
      node: node.address,
    },
    node,
  );
}

/** A task for `inference`: by default signed by the configured coordinator, for this verifier, now. */
export async function taskFor(
  inference: Inference,
  options: {
    receipt?: Receipt;
    coordinator?: typeof coordinatorAccount;
    changes?: Partial<VerificationTask>;
  } = {},
): Promise<SignedTask> {
  const receipt = options.receipt ?? (await signInference(inference));
  const task: VerificationTask = {
    inferenceId: receipt.inferenceId,
    request: inference.request,
    response: inference.response,
    usage: inference.usage,
    receipt,
    verifier: verifierAddress,
    issuedAt: Date.now(),
    ...options.changes,
  };
  return signTask(task, options.coordinator ?? coordinatorAccount);
}

/**
 * Posts a body to `/v1/tasks` of `app`, with `env` overrides, in the configured coordinator's
 * envelope for this verifier (as the coordinator sends every task) unless `envelope` is given:
 * a header value, or null for none.
 */
export async function postTask(
  app: ReturnType<typeof createVerifierApp>,
  body: unknown,
  overrides: Partial<VerifyEnv> = {},
  init: RequestInit = {},
  envelope?: string | null,
) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const header =
    envelope === undefined
      ? await signTaskEnvelope(text, verifierAddress, Date.now(), coordinatorAccount)
      : envelope;
  const headers = new Headers(init.headers ?? { "content-type": "application/json" });
  if (header !== null) headers.set(TASK_ENVELOPE_HEADER, header);
  return app.request(
    "/v1/tasks",
    { method: "POST", body: text, ...init, headers },
    { ...verifierEnv, ...overrides },
  );
}
