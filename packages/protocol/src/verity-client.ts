import { z } from "zod";
import { Receipt } from "./receipt";
import { type RecordVerification, type VerifyRecordOptions, verifyRecord } from "./verify-record";
import { recordFromGateway, type VerityRecord } from "./verity-record";
import { wait } from "./wait";

/** The response header that names an answer's inference id. */
export const INFERENCE_ID_HEADER = "x-verity-inference-id";

/** Why a record could not be had from the gateway. */
export type RecordFetchFailureReason =
  /** No such inference for this API key (the gateway answers another key's ids the same way). */
  | "not_found"
  /** The API key was refused. */
  | "unauthorized"
  /** No answer: the gateway is down or unreachable from here. */
  | "unreachable"
  /** Waited for a state the record did not reach in time. */
  | "timeout"
  /** An answer that is not a record (or another error status). */
  | "malformed_answer"
  | "gateway_error";

export interface RecordFetchFailure {
  ok: false;
  reason: RecordFetchFailureReason;
  message: string;
}
export type RecordFetch = { ok: true; record: VerityRecord } | RecordFetchFailure;

export interface VerityClientOptions {
  /** The gateway's API base, as the OpenAI client takes it: `https://…/v1`. */
  baseURL: string;
  apiKey: string;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

export interface WaitOptions {
  /** Give up after this long. Default 2 minutes. */
  timeoutMs?: number;
  /** How often to ask. Default 1 s. */
  intervalMs?: number;
  signal?: AbortSignal;
}

export interface VerityClient {
  /** The record as the gateway has it now: a decided round and settlement once they exist. */
  record(inferenceId: string): Promise<RecordFetch>;
  /** Waits until the round is decided (verified or rejected) and returns the record. */
  verified(inferenceId: string, options?: WaitOptions): Promise<RecordFetch>;
  /** Waits until the record's batch is confirmed on chain and returns the record. */
  settled(inferenceId: string, options?: WaitOptions): Promise<RecordFetch>;
  /** Fetches the record and checks every link (see `verifyRecord`), against `options.chain`. */
  verify(
    inferenceId: string,
    options?: VerifyRecordOptions,
  ): Promise<{ ok: true; verification: RecordVerification } | RecordFetchFailure>;
}

const VerityBlock = z.object({ inference_id: z.string(), receipt: Receipt });

/**
 * The inference id and signed receipt that came with an answer: a completion or embedding body
 * (its `verity` block), or its `Response` (the inference id header only). Undefined for
 * anything else, such as an answer from a provider that is not Verity.
 */
export function verityOf(
  answer: unknown,
): { inferenceId: string; receipt?: Receipt | undefined } | undefined {
  if (typeof Response !== "undefined" && answer instanceof Response) {
    const id = answer.headers.get(INFERENCE_ID_HEADER);
    return id ? { inferenceId: id } : undefined;
  }
  const block = VerityBlock.safeParse((answer as { verity?: unknown } | null)?.verity);
  return block.success
    ? { inferenceId: block.data.inference_id, receipt: block.data.receipt }
    : undefined;
}

/**
 * Reads and checks Verity records through a gateway, in any runtime with fetch (Node, workerd,
 * browsers). Nothing the gateway says is trusted: `verify` checks it against the chain.
 */
export function verityClient(options: VerityClientOptions): VerityClient {
  const base = options.baseURL.replace(/\/+$/, "");
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const headers = { authorization: `Bearer ${options.apiKey}` };

  async function get(url: string): Promise<Response | RecordFetchFailure> {
    try {
      return await doFetch(url, { headers });
    } catch (err) {
      return failure("unreachable", `cannot reach ${url}: ${(err as Error).message}`);
    }
  }

  async function record(inferenceId: string): Promise<RecordFetch> {
    const url = `${base}/inferences/${encodeURIComponent(inferenceId)}`;
    const inference = await get(url);
    if (!(inference instanceof Response)) return inference;
    if (!inference.ok) return refusal(inference, url);
    const proof = await get(`${url}/proof`);
    if (!(proof instanceof Response)) return proof;
    let proofBody: unknown = null;
    if (proof.ok) proofBody = await proof.json().catch(() => undefined);
    else if ((await errorCode(proof)) !== "not_settled") return refusal(proof, `${url}/proof`);
    const built = recordFromGateway(await inference.json().catch(() => undefined), proofBody);
    return built.ok ? built : failure(built.reason, built.message);
  }

  async function until(
    inferenceId: string,
    reached: (record: VerityRecord) => boolean,
    what: string,
    waiting: WaitOptions = {},
  ): Promise<RecordFetch> {
    const deadline = Date.now() + (waiting.timeoutMs ?? 120_000);
    for (;;) {
      const current = await record(inferenceId);
      if (!current.ok || reached(current.record)) return current;
      if (current.record.status === "inconclusive") {
        return failure(
          "timeout",
          `inference ${inferenceId} ended inconclusive: it will not be ${what}`,
        );
      }
      if (Date.now() > deadline || waiting.signal?.aborted) {
        return failure(
          "timeout",
          `inference ${inferenceId} is ${current.record.status}, not ${what} yet`,
        );
      }
      await wait(waiting.intervalMs ?? 1_000, waiting.signal);
    }
  }

  return {
    record,
    verified: (id, wait) => until(id, (r) => r.round !== null, "decided", wait),
    settled: (id, wait) => until(id, (r) => r.settlement !== null, "settled", wait),
    async verify(id, verifyOptions) {
      const fetched = await record(id);
      if (!fetched.ok) return fetched;
      return { ok: true, verification: await verifyRecord(fetched.record, verifyOptions) };
    },
  };
}

/**
 * The OpenAI client `openai`, with `verity`: a `VerityClient` on the same gateway and key.
 * `verityOf(completion)` gives an answer's inference id and receipt; then
 * `await openai.verity.settled(id)` and `await openai.verity.verify(id, { chain })`.
 */
export function withVerity<T extends { baseURL: string; apiKey?: string | null }>(
  openai: T,
  options: Pick<VerityClientOptions, "fetch"> = {},
): T & { verity: VerityClient } {
  return Object.assign(openai, {
    // A client without a key gets the gateway's 401 as `unauthorized`, as its own calls do.
    verity: verityClient({ baseURL: openai.baseURL, apiKey: openai.apiKey ?? "", ...options }),
  });
}

const failure = (reason: RecordFetchFailureReason, message: string): RecordFetchFailure => ({
  ok: false,
  reason,
  message,
});

async function errorCode(response: Response): Promise<string | undefined> {
  const body = (await response
    .clone()
    .json()
    .catch(() => null)) as { error?: { code?: string } } | null;
  return body?.error?.code;
}

async function refusal(response: Response, url: string): Promise<RecordFetchFailure> {
  const body = (await response.json().catch(() => null)) as {
    error?: { message?: string };
  } | null;
  const message = `GET ${url} answered ${response.status}: ${body?.error?.message ?? response.statusText}`;
  if (response.status === 404) return failure("not_found", message);
  if (response.status === 401 || response.status === 403) return failure("unauthorized", message);
  return failure("gateway_error", message);
}
