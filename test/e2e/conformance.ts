// Shared by the conformance suite (conformance-*.test.ts): real clients, unchanged but for their
// base URL and API key, against the one `npm start` that global-setup.ts runs. Every answer a
// client gets must carry a signed receipt, be on record, and end verified by the local
// verifiers, who re-execute it.
import { setTimeout as sleep } from "node:timers/promises";
import { getAddress } from "viem";
import { expect, inject } from "vitest";
import { z } from "zod";

export const network = inject("localNetwork");
/** What every client is given: the gateway's OpenAI-compatible root and the API key. */
export const baseURL = `${network.gatewayUrl}/v1`;
export const apiKey = network.apiKey;

export const CHAT_MODEL = "verity-ngram-1";
export const EMBEDDING_MODEL = "verity-embed-1";
export const INFERENCE_ID_HEADER = "x-verity-inference-id";
export const SEED = 7;

/** A question verity-ngram-1's `auto` tool choice answers with a call of `get_weather`. */
export const WEATHER_QUESTION = "What's the weather in Paris?";
export const WEATHER_TOOL = {
  name: "get_weather",
  description: "Get the current weather for a city",
} as const;
/** What the weather tool answers, whatever it is asked. */
export const weatherReport = (city: string) => ({
  city,
  temperature_c: 18,
  conditions: "sunny",
});

/** A small schema for structured output: a string, a number and an enum. */
export const Weather = z.object({
  city: z.string(),
  temperature: z.number(),
  conditions: z.enum(["sunny", "cloudy", "rainy"]),
});

/** How long the local network may take to decide a round (it takes a few seconds). */
const DECIDED_WITHIN_MS = 30_000;

const Hex32 = z.string().regex(/^0x[0-9a-f]{64}$/i);
const Receipt = z.looseObject({
  inferenceId: z.string(),
  model: z.string(),
  node: z.string(),
  requestHash: Hex32,
  responseHash: Hex32,
  signature: z.string().regex(/^0x[0-9a-f]{130}$/i),
});

/** The `verity` block every answer carries: the inference's id and its signed receipt. */
export const VerityBlock = z.object({
  inference_id: z.string().min(1),
  status: z.string(),
  receipt: Receipt,
});
export type VerityBlock = z.infer<typeof VerityBlock>;

/** The `verity` field of an answer object or event (clients pass unknown fields through). */
export const verityOf = (answer: unknown): VerityBlock =>
  VerityBlock.parse((answer as { verity?: unknown } | null)?.verity);

/** Whether an answer object or event carries a `verity` field. */
export const hasVerity = (answer: unknown): boolean =>
  typeof answer === "object" && answer !== null && "verity" in answer;

/** The receipt is signed by the local inference node for this inference and model. */
export function expectReceipt(verity: VerityBlock, inferenceId: string, model = CHAT_MODEL) {
  expect(verity.inference_id).toBe(inferenceId);
  expect(verity.receipt.inferenceId).toBe(inferenceId);
  expect(verity.receipt.model).toBe(model);
  expect(getAddress(verity.receipt.node)).toBe(network.inferenceNode);
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/**
 * The inference id inside an answer's own id (`chatcmpl-<id>`, `resp_<id>`...), for clients that
 * expose the answer's id but neither its headers nor its body.
 */
export function inferenceIdIn(answerId: string | undefined): string {
  const id = UUID.exec(answerId ?? "")?.[0];
  if (!id) throw new Error(`no inference id in the answer id '${answerId}'`);
  return id;
}

const InferenceRecord = z.looseObject({
  id: z.string(),
  kind: z.string(),
  model: z.string(),
  status: z.string(),
  receipt: Receipt,
  verification: z
    .looseObject({ status: z.string(), verdicts: z.array(z.looseObject({})).optional() })
    .nullish(),
});
export type InferenceRecord = z.infer<typeof InferenceRecord>;

/** `GET /v1/inferences/{id}` with the API key. */
export async function getInference(id: string): Promise<InferenceRecord> {
  const response = await fetch(`${baseURL}/inferences/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${apiKey}` },
  });
  const body = await response.text();
  if (!response.ok) throw new Error(`GET /v1/inferences/${id}: ${response.status} ${body}`);
  return InferenceRecord.parse(JSON.parse(body));
}

const Verdict = z.looseObject({
  outcome: z.string(),
  verdict: z
    .looseObject({
      checks: z.array(z.looseObject({ check: z.string(), status: z.string(), reason: z.string() })),
    })
    .optional(),
});

/** Each verdict's outcome and the checks that did not pass, for a failure message. */
function verdictsOf(record: InferenceRecord): string {
  const verdicts = z.array(Verdict).safeParse(record.verification?.verdicts ?? []);
  if (!verdicts.success) return JSON.stringify(record.verification ?? null);
  return JSON.stringify(
    verdicts.data.map((v) => ({
      outcome: v.outcome,
      failed: (v.verdict?.checks ?? [])
        .filter((check) => check.status !== "pass")
        .map((check) => `${check.check}: ${check.reason}`),
    })),
  );
}

/**
 * The answers of one test file, by inference id, so that the file's last test can check that
 * each is on record and ends verified.
 */
export class Answers {
  readonly #all = new Map<string, { what: string; model: string }>();

  /** Notes an answer; its id must be on record, with the receipt the client was shown, if any. */
  async add(
    what: string,
    inferenceId: string | null | undefined,
    options: { model?: string; verity?: VerityBlock } = {},
  ): Promise<InferenceRecord> {
    expect(inferenceId, `${what}: inference id`).toBeTruthy();
    const id = inferenceId ?? "";
    const model = options.model ?? CHAT_MODEL;
    if (options.verity) expectReceipt(options.verity, id, model);
    const record = await getInference(id);
    expect(record).toMatchObject({ id, model });
    expect(record.receipt.inferenceId).toBe(id);
    if (options.verity) expect(record.receipt).toEqual(options.verity.receipt);
    this.#all.set(id, { what, model });
    return record;
  }

  get size(): number {
    return this.#all.size;
  }

  /**
   * Polls every noted answer's record until its round is decided (all at once, with one
   * deadline) and expects each to be verified (or already settled, which only a verified one
   * is); a failure names each answer's outcome and the checks that failed.
   */
  async expectAllVerified(): Promise<void> {
    expect(this.#all.size, "answers to verify").toBeGreaterThan(0);
    const deadline = Date.now() + DECIDED_WITHIN_MS;
    const outcomes = await Promise.all(
      [...this.#all].map(async ([id, { what }]) => {
        for (;;) {
          const record = await getInference(id);
          if (record.status !== "pending" || Date.now() > deadline) {
            // Only a verified inference is settled on chain afterwards.
            const verified = record.status === "verified" || record.status === "settled";
            const detail = verified ? "verified" : `${record.status} ${verdictsOf(record)}`;
            return [`${what} (${id})`, detail] as const;
          }
          await sleep(250);
        }
      }),
    );
    const expected = outcomes.map(([what]) => [what, "verified"] as const);
    expect(Object.fromEntries(outcomes)).toEqual(Object.fromEntries(expected));
  }
}
