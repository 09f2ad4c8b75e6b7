import { type Address, type Hex, hashTypedData, type LocalAccount } from "viem";
import { z } from "zod";
import { keccak256 } from "./keccak256";
import { Bytes32, ChecksumAddress, RECEIPT_DOMAIN, SignatureHex } from "./receipt";
import { recoverSigner } from "./recover-signer";

/**
 * The HTTP header that carries a task's envelope on `POST /v1/tasks`: the coordinator's signature
 * over the hash of the exact body bytes, for whom and when. It travels outside the body so that a
 * verifier checks who sent a task before it parses up to 16 MiB of JSON.
 */
export const TASK_ENVELOPE_HEADER = "verity-task-envelope";

/**
 * The EIP-712 type of an envelope, signed under `RECEIPT_DOMAIN`. A primary type of its own, so
 * an envelope can never pass for a task, a receipt or a verdict.
 */
export const TASK_ENVELOPE_TYPES = {
  TaskEnvelope: [
    { name: "bodyHash", type: "bytes32" },
    { name: "verifier", type: "address" },
    { name: "issuedAt", type: "uint64" },
    { name: "lane", type: "bytes32" },
  ],
} as const;

/** The lane of a task whose requester is not known (no API key behind it). */
export const NO_LANE: Hex = `0x${"0".repeat(64)}`;

/**
 * A task's lane: keccak256 of the API key id it was made for. Verifiers share their capacity
 * fairly between lanes; the hash tells them which tasks come from one key, not whose key it is.
 */
export const taskLane = (apiKeyId: string): Hex => keccak256(new TextEncoder().encode(apiKeyId));

export const TaskEnvelope = z.strictObject({
  /** keccak256 of the request body's bytes. */
  bodyHash: Bytes32,
  verifier: ChecksumAddress,
  /** Unix milliseconds. */
  issuedAt: z.int().min(0),
  /** See `taskLane`. */
  lane: Bytes32,
  signature: SignatureHex,
});
export type TaskEnvelope = z.infer<typeof TaskEnvelope>;

const typedData = (envelope: Omit<TaskEnvelope, "signature">) =>
  ({
    domain: RECEIPT_DOMAIN,
    types: TASK_ENVELOPE_TYPES,
    primaryType: "TaskEnvelope",
    message: { ...envelope, issuedAt: BigInt(envelope.issuedAt) },
  }) as const;

/** The hash an envelope commits to: keccak256 of the body exactly as sent. */
export const taskBodyHash = (body: Uint8Array | string): Hex =>
  keccak256(typeof body === "string" ? new TextEncoder().encode(body) : body);

/** The header value a coordinator sends with `body`, a task for `verifier` in `lane`. */
export async function signTaskEnvelope(
  body: Uint8Array | string,
  verifier: Address,
  issuedAt: number,
  coordinator: LocalAccount,
  lane: Hex = NO_LANE,
): Promise<string> {
  const envelope = { bodyHash: taskBodyHash(body), verifier, issuedAt, lane };
  const signature = await coordinator.signTypedData(typedData(envelope));
  return JSON.stringify({ ...envelope, signature });
}

/** The reasons an envelope is refused: the same as a task's, since it speaks for the task. */
export type TaskEnvelopeRefusal =
  | "unsigned_task"
  | "bad_signature"
  | "wrong_coordinator"
  | "wrong_verifier"
  | "stale";

export type TaskEnvelopeCheck =
  | { ok: true; envelope: TaskEnvelope }
  | { ok: false; reason: TaskEnvelopeRefusal; message: string };

export interface TaskEnvelopeOptions {
  coordinator: Address;
  /** The verifier checking it. */
  self: Address;
  now: number;
  maxAgeMs: number;
}

/**
 * Checks an envelope header: present and well-formed, signed canonically by `coordinator`, for
 * this verifier, and fresh. Cheap (a short string, one recovery); the body's hash is compared
 * after the body is read, within its size limit, and before it is parsed.
 */
export async function checkTaskEnvelope(
  header: string | null | undefined,
  options: TaskEnvelopeOptions,
): Promise<TaskEnvelopeCheck> {
  let envelope: TaskEnvelope;
  try {
    envelope = TaskEnvelope.parse(JSON.parse((header ?? "").slice(0, 1024)));
  } catch {
    return {
      ok: false,
      reason: "unsigned_task",
      message: `Tasks are accepted only with the coordinator's envelope in the ${TASK_ENVELOPE_HEADER} header: JSON {bodyHash, verifier, issuedAt, lane, signature}.`,
    };
  }
  const { signature, ...signed } = envelope;
  const recovered = await recoverSigner(hashTypedData(typedData(signed)), signature);
  if (!recovered.ok) {
    return { ok: false, reason: "bad_signature", message: `envelope: ${recovered.message}` };
  }
  if (recovered.signer !== options.coordinator) {
    return {
      ok: false,
      reason: "wrong_coordinator",
      message: `the envelope is signed by ${recovered.signer}, not by the coordinator ${options.coordinator}`,
    };
  }
  if (envelope.verifier !== options.self) {
    return {
      ok: false,
      reason: "wrong_verifier",
      message: `the envelope is for verifier ${envelope.verifier}, not ${options.self}`,
    };
  }
  const age = options.now - envelope.issuedAt;
  if (Math.abs(age) > options.maxAgeMs) {
    return {
      ok: false,
      reason: "stale",
      message: `the envelope was issued ${age} ms from now; at most ${options.maxAgeMs} ms is accepted`,
    };
  }
  return { ok: true, envelope };
}
