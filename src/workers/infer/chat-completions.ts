import type { ChatChoiceContent, ChosenTokenLogprob } from "@verity/protocol/response";
import { INFERENCE_ID_HEADER } from "@verity/protocol/verity-client";
import type { Context } from "hono";
import type { ModelInfo } from "../../backends/backend";
import { createModelRegistry } from "../../backends/registry";
import { invalidRequest } from "../../errors";
import { ChatCompletionBody, normalizeChatRequest } from "./chat-request";
import { ChatRun, type RunEvent } from "./chat-run";
import type { GatewayEnv } from "./gateway-env";
import { parseJsonBody } from "./json-body";
import { verityBlock } from "./record-inference";
import { sseResponse } from "./sse-response";

/** `POST /v1/chat/completions`: generate, sign, record, answer (JSON or Server-Sent Events). */
export const chatCompletions = (c: Context<GatewayEnv>) => handleChat(c, true);

/**
 * The same handler without the receipt and the record, for `npm run bench` to measure what they
 * cost. Mounted only when `VERITY_BENCH` is "1".
 */
export const bareChatCompletions = (c: Context<GatewayEnv>) => handleChat(c, false);

/** The chat model a request names; an embedding model is refused. */
export function chatModel(c: Context<GatewayEnv>, id: string): ModelInfo {
  const model = createModelRegistry(c.env).get(id);
  if (model.kind !== "chat") {
    throw invalidRequest(
      `'${model.id}' is an embedding model; use /v1/embeddings.`,
      "model",
      "model_not_chat",
    );
  }
  return model;
}

async function handleChat(c: Context<GatewayEnv>, withReceipt: boolean): Promise<Response> {
  const body = await parseJsonBody(c, ChatCompletionBody);
  const model = chatModel(c, body.model);
  const input = normalizeChatRequest(body, model);
  const stream = body.stream === true;
  if (stream && !withReceipt) throw invalidRequest("The bench route does not stream.", "stream");
  const run = await ChatRun.start(c, { input, model, stream, user: body.user });
  if (stream) return streamCompletion(c, run, body.stream_options?.include_usage === true);

  for await (const _ of run.events());
  if (!withReceipt) return c.json({ id: `chatcmpl-${run.id}`, choices: run.choices });
  const { usage, receipt } = await run.finish();
  return c.json(
    {
      id: `chatcmpl-${run.id}`,
      object: "chat.completion",
      created: Math.floor(receipt.createdAt / 1000),
      model: model.id,
      choices: run.choices.map((choice, index) => ({
        index,
        message: messageOf(choice),
        logprobs: choice.logprobs ? logprobsOut(choice.logprobs.content) : null,
        finish_reason: choice.finish_reason,
      })),
      usage,
      service_tier: "default",
      system_fingerprint: fingerprint(model),
      verity: verityBlock(receipt),
    },
    200,
    { [INFERENCE_ID_HEADER]: run.id },
  );
}

const fingerprint = (model: ModelInfo) => `verity-${model.backend}`;

/** The assistant message of a choice; content is null when the answer is only tool calls. */
function messageOf(choice: ChatChoiceContent) {
  const calls = choice.tool_calls;
  return {
    role: "assistant" as const,
    content: calls && choice.content === "" ? null : choice.content,
    refusal: null,
    annotations: [],
    ...(calls ? { tool_calls: calls } : {}),
  };
}

const encoder = new TextEncoder();
const bytesOf = (token: string) => Array.from(encoder.encode(token));

/** OpenAI's `logprobs` object: each token with its UTF-8 bytes and its alternatives. */
export function logprobsOut(entries: readonly ChosenTokenLogprob[]) {
  return {
    content: entries.map((entry) => ({
      token: entry.token,
      logprob: entry.logprob,
      bytes: bytesOf(entry.token),
      top_logprobs: entry.top_logprobs.map((top) => ({ ...top, bytes: bytesOf(top.token) })),
    })),
    refusal: null,
  };
}

/**
 * Streams OpenAI `chat.completion.chunk` events, choice after choice. Each choice opens with
 * its role, then text or tool-call deltas (OpenAI's delta format: a call's id, type and name in
 * its first delta, its arguments in pieces), and closes with its finish reason. The receipt
 * rides in the last chunk before `[DONE]`: the usage chunk when `stream_options.include_usage`
 * is set, else the last finish chunk.
 */
function streamCompletion(c: Context<GatewayEnv>, run: ChatRun, includeUsage: boolean): Response {
  const base = {
    id: `chatcmpl-${run.id}`,
    object: "chat.completion.chunk",
    created: Math.floor(Date.now() / 1000),
    model: run.model.id,
    service_tier: "default",
    system_fingerprint: fingerprint(run.model),
  };
  const lastChoice = (run.options.input.n ?? 1) - 1;
  const chunk = (
    choice: number,
    delta: Record<string, unknown>,
    extra: { logprobs?: unknown; finish_reason?: string } = {},
  ) => ({
    ...base,
    choices: [
      {
        index: choice,
        delta,
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
      const opened = new Set<number>();
      for await (const event of run.events()) {
        if (!opened.has(event.choice)) {
          opened.add(event.choice);
          await send(chunk(event.choice, { role: "assistant", content: "", refusal: null }));
        }
        const next = deltaChunk(event, chunk);
        if (next) await send(next);
        if (event.type !== "done" || event.choice < lastChoice) {
          if (event.type === "done")
            await send(chunk(event.choice, {}, { finish_reason: event.finishReason }));
          continue;
        }
        const { usage, receipt } = await run.finish();
        const verity = verityBlock(receipt);
        if (includeUsage) {
          await send(chunk(event.choice, {}, { finish_reason: event.finishReason }));
          await send({ ...base, choices: [], usage, verity });
        } else {
          await send({ ...chunk(event.choice, {}, { finish_reason: event.finishReason }), verity });
        }
      }
    },
    { doneMarker: "[DONE]" },
  );
}

function deltaChunk(
  event: RunEvent,
  chunk: (
    choice: number,
    delta: Record<string, unknown>,
    extra?: { logprobs?: unknown },
  ) => unknown,
): unknown {
  if (event.type === "delta") {
    const logprobs = event.logprobs ? logprobsOut(event.logprobs) : undefined;
    return chunk(event.choice, { content: event.text }, { logprobs });
  }
  if (event.type === "tool_call") {
    const call =
      event.id !== undefined
        ? {
            index: event.index,
            id: event.id,
            type: "function",
            function: { name: event.name ?? "", arguments: event.arguments },
          }
        : { index: event.index, function: { arguments: event.arguments } };
    return chunk(event.choice, { tool_calls: [call] });
  }
  return undefined;
}
