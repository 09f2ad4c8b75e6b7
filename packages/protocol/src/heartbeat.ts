import { type Address, type Hex, hashTypedData, type LocalAccount } from "viem";
import { type ZodError, z } from "zod";
import { JsonString } from "./canonical";
import { Bytes32, ChecksumAddress, RECEIPT_DOMAIN, SignatureHex } from "./receipt";
import { recoverSigner } from "./recover-signer";

/** The EIP-712 types of a heartbeat, signed under `RECEIPT_DOMAIN`. */
export const HEARTBEAT_TYPES = {
  Heartbeat: [
    { name: "verifier", type: "address" },
    { name: "url", type: "string" },
    { name: "policyHash", type: "bytes32" },
    { name: "models", type: "string[]" },
    { name: "version", type: "string" },
    { name: "timestamp", type: "uint64" },
  ],
} as const;

/** A verifier's periodic announcement: where it answers, under which policy, for which models. */
export const Heartbeat = z.strictObject({
  verifier: ChecksumAddress,
  /** The base URL the coordinator sends tasks to (`${url}/v1/tasks`). */
  url: z.url({ protocol: /^https?$/ }),
  policyHash: Bytes32,
  /** The models it can re-execute. */
  models: z.array(JsonString.min(1)),
  /** The verifier software's version. */
  version: JsonString.min(1),
  /** Unix milliseconds. */
  timestamp: z.int().min(0),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

/** What a verifier POSTs to `${COORDINATOR_URL}/v1/verifiers/heartbeat`. */
export const SignedHeartbeat = z.strictObject({ heartbeat: Heartbeat, signature: SignatureHex });
export type SignedHeartbeat = z.infer<typeof SignedHeartbeat>;

const typedData = (heartbeat: Heartbeat) =>
  ({
    domain: RECEIPT_DOMAIN,
    types: HEARTBEAT_TYPES,
    primaryType: "Heartbeat",
    message: { ...heartbeat, timestamp: BigInt(heartbeat.timestamp) },
  }) as const;

/** The EIP-712 typed-data hash of a heartbeat: what its verifier signs. */
export function heartbeatDigest(heartbeat: Heartbeat): Hex {
  return hashTypedData(typedData(heartbeat));
}

/**
 * Signs a heartbeat with the verifier's key. `heartbeat.verifier` must be `account.address`.
 *
 * @throws if the heartbeat is malformed or names another verifier: a bug in the caller.
 */
export async function signHeartbeat(
  heartbeat: Heartbeat,
  account: LocalAccount,
): Promise<SignedHeartbeat> {
  const parsed = Heartbeat.parse(heartbeat);
  if (parsed.verifier !== account.address) {
    throw new Error(
      `heartbeat verifier ${parsed.verifier} is not the signing account ${account.address}`,
    );
  }
  return { heartbeat: parsed, signature: await account.signTypedData(typedData(parsed)) };
}

/** Why a heartbeat was refused. */
export type HeartbeatFailureReason = "malformed" | "bad_signature" | "signer_mismatch";

export type HeartbeatVerification =
  | { ok: true; signer: Address; digest: Hex; heartbeat: Heartbeat }
  | { ok: false; reason: HeartbeatFailureReason; message: string };

const describe = (error: ZodError) => {
  const issue = error.issues[0];
  return `${(issue?.path ?? []).map(String).join(".") || "heartbeat"}: ${issue?.message ?? "invalid"}`;
};

/**
 * Checks a signed heartbeat's shape and that it is signed by the verifier it names. Never
 * throws: every failure is `{ ok: false, reason }`, as with `verifyReceipt`. Freshness
 * (`timestamp`) and whether the verifier is registered are for the caller to judge.
 */
export async function verifyHeartbeat(signed: unknown): Promise<HeartbeatVerification> {
  const parsed = SignedHeartbeat.safeParse(signed);
  if (!parsed.success) return { ok: false, reason: "malformed", message: describe(parsed.error) };
  const recovered = await recoverParsed(parsed.data);
  if (!recovered.ok || recovered.signer === recovered.heartbeat.verifier) return recovered;
  return {
    ok: false,
    reason: "signer_mismatch",
    message: `signature recovers to ${recovered.signer}, not to verifier ${recovered.heartbeat.verifier}`,
  };
}

export type HeartbeatRecovery =
  | { ok: true; signer: Address; digest: Hex; heartbeat: Heartbeat }
  | { ok: false; reason: Exclude<HeartbeatFailureReason, "signer_mismatch">; message: string };

/**
 * The address that signed `heartbeat`, after checking its shape. It does not compare it with
 * `heartbeat.verifier`: the caller does (or uses `verifyHeartbeat`). Never throws.
 */
export async function recoverHeartbeatSigner(
  heartbeat: unknown,
  signature: unknown,
): Promise<HeartbeatRecovery> {
  const parsed = SignedHeartbeat.safeParse({ heartbeat, signature });
  if (!parsed.success) return { ok: false, reason: "malformed", message: describe(parsed.error) };
  return recoverParsed(parsed.data);
}

async function recoverParsed(signed: SignedHeartbeat): Promise<HeartbeatRecovery> {
  const digest = heartbeatDigest(signed.heartbeat);
  const recovered = await recoverSigner(digest, signed.signature);
  if (!recovered.ok) {
    return { ok: false, reason: "bad_signature", message: `signature: ${recovered.message}` };
  }
  return { ok: true, signer: recovered.signer, digest, heartbeat: signed.heartbeat };
}
