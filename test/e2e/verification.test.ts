// The verification network of a real `npm start`: an answer from the official OpenAI client is
// judged by the local verifier nodes, and the gateway shows the signed outcome.
import { setTimeout as sleep } from "node:timers/promises";
import { verifyVerdict } from "@verity/protocol/verdict";
import OpenAI from "openai";
import { getAddress } from "viem";
import { describe, expect, inject, it } from "vitest";
import { z } from "zod";

const network = inject("localNetwork");
const client = new OpenAI({ baseURL: `${network.gatewayUrl}/v1`, apiKey: network.apiKey });
const auth = { authorization: `Bearer ${network.apiKey}` };
const localVerifiers = new Set(network.verifiers.map((v) => v.address));

const INFERENCE_ID_HEADER = "x-verity-inference-id";
/** How long a round of the local network may take to be decided. */
const DECIDED_WITHIN_MS = 20_000;
const DECIDED = ["verified", "rejected", "inconclusive"];

const Address = z.string().transform((value) => getAddress(value));
const Round = z.object({
  status: z.string(),
  committee: z.array(z.object({ address: Address, url: z.string() })),
  verdicts: z.array(
    z.object({
      verifier: Address,
      outcome: z.string(),
      signature: z.string(),
      verdict: z.unknown(),
    }),
  ),
  decidedAt: z.number().nullable().optional(),
});
const InferenceRecord = z.object({
  id: z.string(),
  status: z.string(),
  receipt: z.looseObject({ createdAt: z.number() }),
  verification: Round,
});
type InferenceRecord = z.infer<typeof InferenceRecord>;

async function chat(content: string): Promise<string> {
  const { response } = await client.chat.completions
    .create({ model: "verity-ngram-1", messages: [{ role: "user", content }], max_tokens: 16 })
    .withResponse();
  const id = response.headers.get(INFERENCE_ID_HEADER);
  if (!id) throw new Error(`no ${INFERENCE_ID_HEADER} header`);
  return id;
}

const getRecord = async (id: string) =>
  InferenceRecord.parse(await client.get(`/inferences/${id}`));

/** Polls the record until its status is no longer pending; fails after `DECIDED_WITHIN_MS`. */
async function decided(id: string): Promise<InferenceRecord> {
  const deadline = Date.now() + DECIDED_WITHIN_MS;
  for (;;) {
    const record = await getRecord(id);
    if (record.status !== "pending") return record;
    if (Date.now() > deadline) {
      throw new Error(
        `inference ${id} still pending after ${DECIDED_WITHIN_MS / 1000} s: ${JSON.stringify(record.verification)}`,
      );
    }
    await sleep(100);
  }
}

/** The `event: round` events of an SSE body, their data parsed. */
function roundEvents(body: string) {
  return body
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const lines = block.split("\n");
      expect(lines[0]).toBe("event: round");
      const data = lines.find((line) => line.startsWith("data: "))?.slice("data: ".length);
      return z.looseObject({ status: z.string() }).parse(JSON.parse(data ?? "null"));
    });
}

describe("verification of answers by the local verifier nodes", () => {
  it("lists every verifier of local.json as online", async () => {
    const list = z
      .object({
        data: z.array(z.object({ address: Address, url: z.string(), online: z.boolean() })),
      })
      .parse(await client.get("/verifiers"));
    expect(network.verifiers.length).toBeGreaterThanOrEqual(3);
    for (const verifier of network.verifiers) {
      expect(list.data).toContainEqual(
        expect.objectContaining({ address: verifier.address, url: verifier.url, online: true }),
      );
    }
  });

  it("verifies a chat answer by a quorum of valid verdicts signed by the local verifiers", async () => {
    const id = await chat("Tell me about the sea and the ships on it.");
    const record = await decided(id);

    expect(record.status).toBe("verified");
    const round = record.verification;
    expect(round.status).toBe("verified");
    expect(round.committee).toHaveLength(3);
    for (const member of round.committee) expect(localVerifiers).toContain(member.address);
    expect(new Set(round.committee.map((m) => m.address)).size).toBe(3);

    const valid = round.verdicts.filter((v) => v.outcome === "valid");
    expect(valid.length).toBeGreaterThanOrEqual(2);
    for (const entry of valid) {
      // Checked here from the signature alone, not taken from the gateway's word.
      const checked = await verifyVerdict(entry.verdict);
      expect(checked).toMatchObject({ ok: true, signer: entry.verifier });
      expect(localVerifiers).toContain(entry.verifier);
      expect(entry.verdict).toMatchObject({ inferenceId: id, outcome: "valid" });
    }
    expect(round.decidedAt).toBeGreaterThanOrEqual(record.receipt.createdAt);
  });

  it("streams the round's events from a running round until it is decided, then ends", async () => {
    const id = await chat("What do sailors say about the wind?");
    // Subscribed at once: the round has only just started, and the stream follows it.
    const res = await fetch(`${network.gatewayUrl}/v1/inferences/${id}/events`, {
      headers: auth,
      signal: AbortSignal.timeout(DECIDED_WITHIN_MS),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = roundEvents(await res.text()); // resolves only once the server ends it

    expect(events.length).toBeGreaterThanOrEqual(1);
    for (const event of events.slice(0, -1)) expect(["pending", "running"]).toContain(event.status);
    const last = events.at(-1);
    expect(DECIDED).toContain(last?.status);
    expect(last?.status).toBe("verified");
    expect((await getRecord(id)).status).toBe(last?.status);
  });
});
