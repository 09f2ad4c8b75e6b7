import { type Address, type Hex, hashTypedData, type LocalAccount } from "viem";
import { type ZodError, z } from "zod";
import { hashCanonical } from "./canonical";
import { InferenceId } from "./inference-id";
import { ChecksumAddress, RECEIPT_DOMAIN, Receipt, receiptDigest, SignatureHex } from "./receipt";
import { recoverSigner } from "./recover-signer";
import { type ChatMessage, NormalizedChatRequest, NormalizedRequest } from "./request";
import { ChatResponseContent, ResponseContent } from "./response";

/** The EIP-712 types of a task, signed by the coordinator under `RECEIPT_DOMAIN`. */
export const TASK_TYPES = {
  Task: [
    { name: "inferenceId", type: "string" },
    { name: "receiptDigest", type: "bytes32" },
    { name: "payloadHash", type: "bytes32" },
    { name: "verifier", type: "address" },
    { name: "issuedAt", type: "uint64" },
  ],
} as const;

/** Token counts as the inference record holds them; embeddings have `completion_tokens` 0. */
export const TaskUsage = z.strictObject({
  prompt_tokens: z.int().min(0),
  completion_tokens: z.int().min(0),
});
export type TaskUsage = z.infer<typeof TaskUsage>;

/**
 * The earlier inference a chat request continues (its `previous_response`), exactly as the
 * gateway stored it: its request, its response and the receipt its node signed for them.
 */
export const TaskHistory = z.strictObject({
  request: NormalizedChatRequest,
  response: ChatResponseContent,
  receipt: Receipt,
});
export type TaskHistory = z.infer<typeof TaskHistory>;

/**
 * The messages a request that continues `history` starts with: the earlier request's messages,
 * then the earlier answer (choice 0) as an assistant message, with its tool calls when it made
 * any. The gateway writes them so, and a verifier checks them so.
 */
export function continuedMessages(
  history: Pick<TaskHistory, "request" | "response">,
): ChatMessage[] {
  const { content, tool_calls } = history.response;
  const answer: ChatMessage = tool_calls
    ? { role: "assistant", content, tool_calls }
    : { role: "assistant", content };
  return [...history.request.messages, answer];
}

/**
 * What a coordinator asks one verifier to judge: an inference as recorded (request, response,
 * usage) and the receipt the inference node signed for it. Strict and without defaults, so
 * that a parsed task is exactly the object whose `payloadHash` was signed.
 */
export const VerificationTask = z.strictObject({
  inferenceId: InferenceId,
  request: NormalizedRequest,
  response: ResponseContent,
  usage: TaskUsage,
  receipt: Receipt,
  /**
   * The earlier record, when `request.previous_response` names one: written only then, so a
   * task without it hashes as before. A verifier checks that it holds and that the request
   * continues it (`history@1`).
   */
  history: TaskHistory.optional(),
  /** The one verifier this task is for: no other verifier accepts it. */
  verifier: ChecksumAddress,
  /** Unix milliseconds. */
  issuedAt: z.int().min(0),
});
export type VerificationTask = z.infer<typeof VerificationTask>;

/** A task and the coordinator's EIP-712 signature of it (see `taskDigest`). */
export const SignedTask = z.strictObject({ task: VerificationTask, signature: SignatureHex });
export type SignedTask = z.infer<typeof SignedTask>;

const typedMessage = (task: VerificationTask) => ({
  inferenceId: task.inferenceId,
  receiptDigest: receiptDigest(task.receipt),
  payloadHash: hashCanonical(task),
  verifier: task.verifier,
  issuedAt: BigInt(task.issuedAt),
});

/**
 * The EIP-712 typed-data hash a coordinator signs: `Task` with `receiptDigest` =
 * `receiptDigest(task.receipt)` and `payloadHash` = `hashCanonical(task)`.
 */
export function taskDigest(task: VerificationTask): Hex {
  return hashTypedData({
    domain: RECEIPT_DOMAIN,
    types: TASK_TYPES,
    primaryType: "Task",
    message: typedMessage(task),
  });
}

/**
 * Signs a task with the coordinator's key.
 *
 * @throws if the task is malformed or its `inferenceId` is not its receipt's: a bug in the caller.
 */
export async function signTask(
  task: VerificationTask,
  coordinatorAccount: LocalAccount,
): Promise<SignedTask> {
  const parsed = VerificationTask.parse(task);
  if (parsed.inferenceId !== parsed.receipt.inferenceId) {
    throw new Error(
      `task ${parsed.inferenceId} carries the receipt of ${parsed.receipt.inferenceId}`,
    );
  }
  const signature = await coordinatorAccount.signTypedData({
    domain: RECEIPT_DOMAIN,
    types: TASK_TYPES,
    primaryType: "Task",
    message: typedMessage(parsed),
  });
  return { task: parsed, signature };
}

/** Why a verifier refuses a task, in the order the checks run. */
export type TaskRefusalReason =
  /** Not a well-formed signed task. */
  | "malformed"
  /** The task's `inferenceId` is not its receipt's: the payload contradicts itself. */
  | "payload_mismatch"
  /** The signature is not a canonical (low-s, v 27/28) signature of any key. */
  | "bad_signature"
  /**
   * The signature recovers to a key other than the configured coordinator's: the task was
   * signed by another key, or altered after signing (which changes its `payloadHash`).
   */
  | "wrong_coordinator"
  /** The task names another verifier. */
  | "wrong_verifier"
  /** `issuedAt` is more than `maxAgeMs` away from `now` (in the past or the future). */
  | "stale";

export type TaskVerification =
  | { ok: true; task: VerificationTask; digest: Hex }
  | { ok: false; reason: TaskRefusalReason; message: string };

export interface VerifyTaskOptions {
  /** The only key whose tasks are accepted. */
  coordinator: Address;
  /** This verifier's address: the task must name it. */
  self: Address;
  /** Unix milliseconds. */
  now: number;
  maxAgeMs: number;
}

const describe = (error: ZodError) => {
  const issue = error.issues[0];
  return `${(issue?.path ?? []).map(String).join(".") || "task"}: ${issue?.message ?? "invalid"}`;
};

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * Decides whether a verifier accepts a task: well formed, signed by `coordinator`, addressed
 * to `self`, and fresh. Never throws: every refusal is `{ ok: false, reason }`.
 */
export async function verifyTask(
  signed: unknown,
  options: VerifyTaskOptions,
): Promise<TaskVerification> {
  const parsed = SignedTask.safeParse(signed);
  if (!parsed.success) return { ok: false, reason: "malformed", message: describe(parsed.error) };
  const { task, signature } = parsed.data;
  if (task.inferenceId !== task.receipt.inferenceId) {
    return {
      ok: false,
      reason: "payload_mismatch",
      message: `task is for ${task.inferenceId} but carries the receipt of ${task.receipt.inferenceId}`,
    };
  }
  const digest = taskDigest(task);
  const recovered = await recoverSigner(digest, signature);
  if (!recovered.ok) {
    return { ok: false, reason: "bad_signature", message: `signature: ${recovered.message}` };
  }
  if (!same(recovered.signer, options.coordinator)) {
    return {
      ok: false,
      reason: "wrong_coordinator",
      message: `task is signed by ${recovered.signer}, not by the coordinator ${options.coordinator} (or was altered after signing)`,
    };
  }
  if (!same(task.verifier, options.self)) {
    return {
      ok: false,
      reason: "wrong_verifier",
      message: `task is for verifier ${task.verifier}, not ${options.self}`,
    };
  }
  const age = options.now - task.issuedAt;
  if (Math.abs(age) > options.maxAgeMs) {
    return {
      ok: false,
      reason: "stale",
      message: `task was issued ${age} ms from now; at most ${options.maxAgeMs} ms is accepted`,
    };
  }
  return { ok: true, task, digest };
}
