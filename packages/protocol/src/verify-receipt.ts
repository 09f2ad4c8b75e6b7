import type { Address, Hex } from "viem";
import { type ZodError, z } from "zod";
import { Receipt, receiptDigest } from "./receipt";
import { recoverSigner } from "./recover-signer";
import { NormalizedRequest, requestHash } from "./request";
import { ResponseContent, responseHash } from "./response";

/** Why a receipt was refused, in the order the checks run. */
export type ReceiptFailureReason =
  /** The receipt is not a well-formed version-1 receipt. */
  | "malformed"
  /** The caller's `options` (request, response, trustedNodes) are malformed. */
  | "invalid_options"
  /** The signature is not a valid low-s secp256k1 signature with v in {27, 28}. */
  | "bad_signature"
  /** The signature recovers to an address other than `receipt.node`: a field was altered. */
  | "signer_mismatch"
  /** The signer is not in `trustedNodes`. */
  | "untrusted_node"
  /** `options.request` is not the request the receipt commits to. */
  | "request_hash_mismatch"
  /** The committed request names a different model than the receipt does. */
  | "model_mismatch"
  /** `options.response` is not the response the receipt commits to. */
  | "response_hash_mismatch"
  /** The committed request and response are of different kinds (chat vs embedding). */
  | "kind_mismatch";

export type ReceiptVerification =
  | { ok: true; signer: Address; digest: Hex; receipt: Receipt }
  | { ok: false; reason: ReceiptFailureReason; message: string };

export interface VerifyReceiptOptions {
  /** The normalised request: checked against `requestHash`, and its model against `model`. */
  request?: NormalizedRequest;
  /** The normalised response content: checked against `responseHash`. */
  response?: ResponseContent;
  /** If given, the signer must be one of these (compared case-insensitively). */
  trustedNodes?: readonly Address[];
}

const Options = z.object({
  request: NormalizedRequest.optional(),
  response: ResponseContent.optional(),
  trustedNodes: z.array(z.string()).readonly().optional(),
});

const describe = (prefix: string, error: ZodError) => {
  const issue = error.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map(String)].join(".");
  return `${path}: ${issue?.message ?? "invalid"}`;
};

const fail = (reason: ReceiptFailureReason, message: string): ReceiptVerification => ({
  ok: false,
  reason,
  message,
});

/**
 * Checks a receipt: shape, signature, signer, and (when given) that it commits to
 * `request` and `response`. Never throws: every failure is a `{ ok: false, reason }`.
 */
export async function verifyReceipt(
  receipt: unknown,
  options: VerifyReceiptOptions = {},
): Promise<ReceiptVerification> {
  const parsed = Receipt.safeParse(receipt);
  if (!parsed.success) return fail("malformed", describe("receipt", parsed.error));
  const opts = Options.safeParse(options ?? {});
  if (!opts.success) return fail("invalid_options", describe("options", opts.error));
  const r = parsed.data;
  const { request, response, trustedNodes } = opts.data;

  const digest = receiptDigest(r);
  const recovered = await recoverSigner(digest, r.signature);
  if (!recovered.ok) return fail("bad_signature", `signature: ${recovered.message}`);
  const { signer } = recovered;
  if (signer !== r.node) {
    return fail("signer_mismatch", `signature recovers to ${signer}, not to node ${r.node}`);
  }
  if (trustedNodes && !trustedNodes.some((a) => a.toLowerCase() === signer.toLowerCase())) {
    return fail("untrusted_node", `node ${signer} is not a trusted node`);
  }

  if (request) {
    const hash = requestHash(request);
    if (hash !== r.requestHash) {
      return fail(
        "request_hash_mismatch",
        `request hashes to ${hash}, receipt says ${r.requestHash}`,
      );
    }
    if (request.model !== r.model) {
      return fail(
        "model_mismatch",
        `request model ${request.model} is not receipt model ${r.model}`,
      );
    }
  }
  if (response) {
    const hash = responseHash(response);
    if (hash !== r.responseHash) {
      return fail(
        "response_hash_mismatch",
        `response hashes to ${hash}, receipt says ${r.responseHash}`,
      );
    }
    if (request && request.kind !== response.kind) {
      return fail("kind_mismatch", `request is ${request.kind} but response is ${response.kind}`);
    }
  }
  return { ok: true, signer, digest, receipt: r };
}
