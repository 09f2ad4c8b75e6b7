import {
  type NormalizedRequest,
  type Receipt,
  type ResponseContent,
  requestHash,
  responseHash,
  signReceipt,
  UNSET_FEE,
  UNSET_MODEL_DIGEST,
} from "@verity/protocol";
import { drizzle } from "drizzle-orm/d1";
import type { BackendName } from "../../backends/backend";
import { inferences } from "../../db/schema";
import { VerityError } from "../../errors";
import { nodeAccount } from "./node-account";

export interface CompletedInference {
  id: string;
  apiKeyId: string;
  backend: BackendName;
  request: NormalizedRequest;
  response: ResponseContent;
  usage: Record<string, number>;
  stream: boolean;
  user: string | undefined;
}

/**
 * Signs the receipt for a completed inference and stores the record, in that order, and only
 * then returns the receipt: a receipt is never handed out for a record that was not stored.
 */
export async function recordInference(env: Env, inference: CompletedInference): Promise<Receipt> {
  const account = nodeAccount(env);
  const createdAt = Date.now();
  const receipt = await signReceipt(
    {
      version: 2,
      inferenceId: inference.id,
      model: inference.request.model,
      backend: inference.backend,
      requestHash: requestHash(inference.request),
      responseHash: responseHash(inference.response),
      createdAt,
      node: account.address,
      modelDigest: UNSET_MODEL_DIGEST,
      fee: UNSET_FEE,
    },
    account,
  );
  try {
    await drizzle(env.DB)
      .insert(inferences)
      .values({
        id: inference.id,
        apiKeyId: inference.apiKeyId,
        kind: inference.request.kind,
        model: inference.request.model,
        backend: inference.backend,
        request: inference.request,
        response: inference.response,
        usage: inference.usage,
        receipt,
        requestHash: receipt.requestHash,
        responseHash: receipt.responseHash,
        stream: inference.stream,
        user: inference.user ?? null,
        status: "pending",
        createdAt,
        updatedAt: createdAt,
      });
  } catch (cause) {
    throw new VerityError(
      "The inference could not be recorded, so no receipt was issued. Retry the request.",
      {
        status: 503,
        type: "service_unavailable",
        code: "record_unavailable",
        cause,
        details: { inferenceId: inference.id },
      },
    );
  }
  return receipt;
}

/** The `verity` block that accompanies every response. */
export const verityBlock = (receipt: Receipt) => ({
  inference_id: receipt.inferenceId,
  status: "pending" as const,
  receipt,
});
