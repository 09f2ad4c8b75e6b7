import { setTimeout as sleep } from "node:timers/promises";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { z } from "zod";
import { VerityError } from "../../src/errors.ts";

const RoundEvent = z.looseObject({
  status: z.string(),
  quorum: z.number().optional(),
  committee: z.array(z.looseObject({ address: z.string(), attempt: z.number() })).optional(),
  verdicts: z.array(z.looseObject({ verifier: z.string(), outcome: z.string() })).optional(),
});

const Settlement = z
  .looseObject({
    status: z.string(),
    batchId: z.string().nullable(),
    transactionHash: z.string().nullable(),
    blockNumber: z.number().nullable(),
    reason: z.string().nullable(),
  })
  .nullable();

/** How long `watch` follows a decided record's settlement before it stops waiting. */
const SETTLEMENT_WAIT_MS = 10 * 60_000;

/**
 * Follows an inference live and prints each change as a line: the committee when it is picked,
 * each verdict as it arrives, the decision, then settlement (queued, batched, submitted,
 * confirmed). Returns 0 once settled, 1 if the round ends inconclusive.
 */
export async function watchRound(
  access: { gatewayUrl: string; apiKey: string },
  inferenceId: string,
  print: (line: string) => void,
): Promise<number> {
  const base = `${access.gatewayUrl.replace(/\/$/, "")}/v1/inferences/${encodeURIComponent(inferenceId)}`;
  const headers = { authorization: `Bearer ${access.apiKey}` };
  const response = await fetch(`${base}/events`, { headers }).catch((err: Error) => {
    throw new VerityError(`Cannot reach the gateway at ${base}: ${err.message}.`, {
      status: 503,
      type: "api_error",
      code: "gateway_unreachable",
    });
  });
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => null)) as {
      error?: { message?: string };
    } | null;
    throw new VerityError(
      `GET ${base}/events answered ${response.status}: ${body?.error?.message ?? ""}`,
      {
        status: response.status === 404 ? 404 : 502,
        type: "api_error",
        code: "gateway_error",
      },
    );
  }

  const seenMembers = new Set<string>();
  const seenVotes = new Set<string>();
  let status = "pending";
  const events = response.body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream());
  for await (const event of events) {
    // An event that is not a round snapshot (not JSON, another shape) is skipped, not fatal.
    const round = RoundEvent.safeParse(parseJson(event.data));
    if (!round.success) continue;
    for (const member of round.data.committee ?? []) {
      if (seenMembers.has(member.address)) continue;
      seenMembers.add(member.address);
      print(
        `committee   ${member.address}${member.attempt > 0 ? ` (replacement ${member.attempt})` : ""}`,
      );
    }
    for (const verdict of round.data.verdicts ?? []) {
      if (seenVotes.has(verdict.verifier)) continue;
      seenVotes.add(verdict.verifier);
      print(`verdict     ${verdict.verifier}: ${verdict.outcome}`);
    }
    if (round.data.status !== status) {
      status = round.data.status;
      print(`round       ${status}${round.data.quorum ? ` (quorum ${round.data.quorum})` : ""}`);
    }
  }
  if (status === "inconclusive") return 1;
  if (status !== "verified" && status !== "rejected") {
    throw new VerityError(`The round's events ended while it was ${status}.`, {
      status: 502,
      type: "api_error",
      code: "events_ended",
    });
  }

  let last = "";
  const deadline = Date.now() + SETTLEMENT_WAIT_MS;
  while (Date.now() < deadline) {
    const record = await fetch(base, { headers })
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null);
    const settlement = Settlement.safeParse(
      (record as { settlement?: unknown } | null)?.settlement ?? null,
    );
    const now = settlement.success ? settlement.data : null;
    const line = now
      ? `settlement  ${now.status}${now.batchId ? ` in batch ${now.batchId}` : ""}${now.transactionHash ? `, ${now.transactionHash}${now.blockNumber === null ? "" : ` (block ${now.blockNumber})`}` : ""}${now.reason ? `: ${now.reason}` : ""}`
      : "settlement  waiting for the settler";
    if (line !== last) print(line);
    last = line;
    if (now?.status === "confirmed") return 0;
    await sleep(1_000);
  }
  print("settlement  not confirmed within 10 minutes; run watch again to keep following");
  return 1;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
