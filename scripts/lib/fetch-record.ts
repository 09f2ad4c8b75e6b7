import { VerityError } from "../../src/errors.ts";
import type { VerityRecord } from "../../src/protocol/verity-record.ts";
import { recordFromGateway } from "../../src/protocol/verity-record.ts";

export interface GatewayAccess {
  gatewayUrl: string;
  apiKey: string;
}

/**
 * An inference's record from the gateway: `GET /v1/inferences/{id}`, and its proof once its
 * batch is confirmed (404 `not_settled` before: the record then has no settlement). Nothing is
 * trusted: `verifyRecord` checks what comes back.
 *
 * @throws VerityError for an answer that is not the record (unknown id, bad key, no gateway).
 */
export async function fetchRecord(
  access: GatewayAccess,
  inferenceId: string,
): Promise<VerityRecord> {
  const base = `${access.gatewayUrl.replace(/\/$/, "")}/v1/inferences/${encodeURIComponent(inferenceId)}`;
  const inference = await getJson(access, base);
  const proofResponse = await get(access, `${base}/proof`);
  let proof: unknown = null;
  if (proofResponse.ok) proof = await proofResponse.json();
  else if (!(await isNotSettled(proofResponse)))
    throw await answerError(proofResponse, `${base}/proof`);
  const built = recordFromGateway(inference, proof);
  if (!built.ok) {
    throw new VerityError(`The gateway's answer is not a record: ${built.message}.`, {
      status: 502,
      type: "api_error",
      code: built.reason,
    });
  }
  return built.record;
}

async function get(access: GatewayAccess, url: string): Promise<Response> {
  try {
    return await fetch(url, {
      headers: { authorization: `Bearer ${access.apiKey}` },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new VerityError(`Cannot reach the gateway at ${url}: ${(err as Error).message}.`, {
      status: 503,
      type: "api_error",
      code: "gateway_unreachable",
    });
  }
}

async function getJson(access: GatewayAccess, url: string): Promise<unknown> {
  const response = await get(access, url);
  if (!response.ok) throw await answerError(response, url);
  return response.json();
}

async function isNotSettled(response: Response): Promise<boolean> {
  if (response.status !== 404) return false;
  const body = (await response
    .clone()
    .json()
    .catch(() => null)) as {
    error?: { code?: string };
  } | null;
  return body?.error?.code === "not_settled";
}

async function answerError(response: Response, url: string): Promise<VerityError> {
  const body = (await response.json().catch(() => null)) as {
    error?: { message?: string; code?: string };
  } | null;
  return new VerityError(
    `GET ${url} answered ${response.status}: ${body?.error?.message ?? response.statusText}`,
    {
      status: response.status === 404 ? 404 : 502,
      type: response.status === 404 ? "invalid_request_error" : "api_error",
      code: body?.error?.code ?? "gateway_error",
    },
  );
}
