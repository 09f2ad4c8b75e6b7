// What the local-network tests share: their start options, and a small client of the network
// they start (the gateway's API with the dev key).
import { setTimeout as sleep } from "node:timers/promises";
import { Receipt } from "@verity/protocol/receipt";
import { getAddress } from "viem";
import { z } from "zod";
import type { LocalNetworkInfo } from "../../scripts/lib/local-json.ts";
import { localPortCount } from "../../scripts/lib/local-network.ts";
import { freePortRun } from "../../scripts/lib/ports.ts";

export const quiet = () => {};
// Well under the test timeout, so that a start that hangs still stops what it started.
export const readyTimeoutMs = 60_000;
/** The gateway's port and, after it, one per verifier (and the chain's). */
export const ports = (verifiers = 3) => freePortRun(localPortCount(verifiers));

const Address = z.string().transform((value) => getAddress(value));
export const VerifierList = z.object({
  data: z.array(
    z.object({
      address: Address,
      url: z.string(),
      online: z.boolean(),
      votes: z.number(),
      agreements: z.number(),
    }),
  ),
});
export const InferenceRecord = z.object({
  status: z.string(),
  receipt: Receipt,
  verification: z.object({
    status: z.string(),
    committee: z.array(z.object({ address: Address })),
    verdicts: z.array(z.object({ verifier: Address, outcome: z.string() })),
    startedAt: z.number().optional(),
  }),
});

/** Calls the gateway with the dev key; a non-2xx answer throws with its body. */
export const api = async (info: LocalNetworkInfo, route: string, init: RequestInit = {}) => {
  const res = await fetch(`${info.gatewayUrl}${route}`, {
    ...init,
    headers: {
      authorization: `Bearer ${info.apiKey}`,
      "content-type": "application/json",
      ...init.headers,
    },
  });
  if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
  return res;
};

/** One short chat call; its inference id. */
export async function chat(info: LocalNetworkInfo): Promise<string> {
  const res = await api(info, "/v1/chat/completions", {
    method: "POST",
    body: JSON.stringify({
      model: "verity-ngram-1",
      messages: [{ role: "user", content: "Tell me about the sea." }],
      max_tokens: 8,
    }),
  });
  await res.body?.cancel();
  const id = res.headers.get("x-verity-inference-id");
  if (!id) throw new Error("no inference id");
  return id;
}

/** Polls an inference until it is no longer pending. */
export async function decided(info: LocalNetworkInfo, id: string, withinMs = 20_000) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const record = InferenceRecord.parse(await (await api(info, `/v1/inferences/${id}`)).json());
    if (record.status !== "pending") return record;
    if (Date.now() > deadline) throw new Error(`${id} still pending after ${withinMs} ms`);
    await sleep(100);
  }
}
