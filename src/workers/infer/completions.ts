import type { ChosenTokenLogprob } from "@verity/protocol/response";
import { INFERENCE_ID_HEADER } from "@verity/protocol/verity-client";
import type { Context } from "hono";
import type { ModelInfo } from "../../backends/backend";
import { chatModel } from "./chat-completions";
import { ChatRun } from "./chat-run";
import {
  CompletionBody,
  completionsError,
  normalizeCompletionRequest,
} from "./completions-request";
import type { GatewayEnv } from "./gateway-env";
import { parseJsonBody } from "./json-body";
import { verityBlock } from "./record-inference";
import { sseResponse } from "./sse-response";

/**
 * The legacy `POST /v1/completions`: a prompt completed as text, on the chat engine (the
 * canonical request is one user message holding the prompt; see completions-request.ts),
 * signed and recorded like a chat completion, and answered as `text_completion` JSON or chunks
 * ending with `[DONE]`, with the receipt in `verity`.
 */
export async function completions(c: Context<GatewayEnv>): Promise<Response> {
  const body = await parseJsonBody(c, CompletionBody);
  const model = chatModel(c, body.model);
  const { input, prompt } = normalizeCompletionRequest(body, model);
  const stream = body.stream === true;
  const run = await ChatRun.start(c, { input, model, stream, user: body.user }).catch(
    (err: unknown) => {
      throw completionsError(err);
    },
  );
  // Echo writes the prompt before each text, and logprob offsets count from there.
  const echoed = body.echo === true ? prompt : "";
  const logprobs = input.logprobs === true;
  if (stream) {
    return streamCompletions(c, run, echoed, logprobs, body.stream_options?.include_usage === true);
  }

  for await (const _ of run.events());
  const { usage, receipt } = await run.finish();
  return c.json(
    {
      id: `cmpl-${run.id}`,
      object: "text_completion",
      created: Math.floor(receipt.createdAt / 1000),
      model: model.id,
      system_fingerprint: fingerprint(model),
      choices: run.choices.map((choice, index) => ({
        text: echoed + choice.content,
        index,
        logprobs: logprobs ? legacyLogprobs(choice.logprobs?.content ?? [], 0) : null,
        finish_reason: choice.finish_reason,
      })),
      usage,
      verity: verityBlock(receipt),
    },
    200,
    { [INFERENCE_ID_HEADER]: run.id },
  );
}

const fingerprint = (model: ModelInfo) => `verity-${model.backend}`;

/**
 * This API's `logprobs`: the tokens, their logprobs, for each the likeliest alternatives with
 * the sampled token among them (so up to k + 1 entries, as OpenAI's), and where each token
 * starts in the text (`text_offset`, from `offset`).
 */
export function legacyLogprobs(entries: readonly ChosenTokenLogprob[], offset: number) {
  let at = offset;
  return {
    tokens: entries.map((entry) => entry.token),
    token_logprobs: entries.map((entry) => entry.logprob),
    top_logprobs: entries.map((entry) => ({
      ...Object.fromEntries(entry.top_logprobs.map((top) => [top.token, top.logprob])),
      [entry.token]: entry.logprob,
    })),
    text_offset: entries.map((entry) => {
      const start = at;
      at += entry.token.length;
      return start;
    }),
  };
}

/**
 * Streams `text_completion` chunks, choice after choice: each opens with the echoed prompt
 * when `echo` is set, then the text in pieces (with their logprobs), then an empty chunk with
 * its finish reason. The receipt rides in the last chunk before `[DONE]`: the usage chunk
 * when `stream_options.include_usage` is set, else the last finish chunk.
 */
function streamCompletions(
  c: Context<GatewayEnv>,
  run: ChatRun,
  echoed: string,
  logprobs: boolean,
  includeUsage: boolean,
): Response {
  const base = {
    id: `cmpl-${run.id}`,
    object: "text_completion",
    created: Math.floor(Date.now() / 1000),
    model: run.model.id,
    system_fingerprint: fingerprint(run.model),
  };
  const lastChoice = (run.options.input.n ?? 1) - 1;
  const chunk = (
    index: number,
    text: string,
    extra: { logprobs?: unknown; finish_reason?: string } = {},
  ) => ({
    ...base,
    choices: [
      {
        text,
        index,
        logprobs: extra.logprobs ?? null,
        finish_reason: extra.finish_reason ?? null,
      },
    ],
    ...(includeUsage ? { usage: null } : {}),
  });

  return sseResponse(
    c,
    run,
    async (send) => {
      const offsets = new Map<number, number>();
      for await (const event of run.events()) {
        if (!offsets.has(event.choice)) {
          offsets.set(event.choice, 0);
          // echo never comes with logprobs (refused), so the prompt's chunk has none.
          if (echoed !== "") await send(chunk(event.choice, echoed));
        }
        if (event.type === "delta") {
          const offset = offsets.get(event.choice) ?? 0;
          const entries = event.logprobs ?? [];
          offsets.set(event.choice, offset + entries.reduce((n, e) => n + e.token.length, 0));
          await send(
            chunk(
              event.choice,
              event.text,
              logprobs ? { logprobs: legacyLogprobs(entries, offset) } : {},
            ),
          );
          continue;
        }
        if (event.type !== "done") continue;
        const finish = chunk(event.choice, "", { finish_reason: event.finishReason });
        if (event.choice < lastChoice) {
          await send(finish);
          continue;
        }
        const { usage, receipt } = await run.finish();
        const verity = verityBlock(receipt);
        if (includeUsage) {
          await send(finish);
          await send({ ...base, choices: [], usage, verity });
        } else {
          await send({ ...finish, verity });
        }
      }
    },
    { doneMarker: "[DONE]" },
  );
}
