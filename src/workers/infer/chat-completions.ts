import { newInferenceId, type Receipt } from "@verity/protocol";
import { INFERENCE_ID_HEADER } from "@verity/protocol/verity-client";
import type { Context } from "hono";
import type { ChatEvent, FinishReason, ModelInfo } from "../../backends/backend";
import { createModelRegistry } from "../../backends/registry";
import { invalidRequest, upstreamError } from "../../errors";
import { errorResponse } from "../../http/error-response";
import {
  type ChatCompletionBody,
  ChatCompletionBody as ChatCompletionBodySchema,
  normalizeChatRequest,
} from "./chat-request";
import type { GatewayEnv } from "./gateway-env";
import { parseJsonBody } from "./json-body";
import { recordInference, verityBlock } from "./record-inference";
import { startRound } from "./rounds";

interface Completion {
  content: string;
  finishReason: FinishReason;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** `POST /v1/chat/completions`: generate, sign, record, answer (JSON or Server-Sent Events). */
export const chatCompletions = (c: Context<GatewayEnv>) => handleChat(c, true);

/**
 * The same handler without the receipt and the record, for `npm run bench` to measure what they
 * cost. Mounted only when `VERITY_BENCH` is "1".
 */
export const bareChatCompletions = (c: Context<GatewayEnv>) => handleChat(c, false);

async function handleChat(c: Context<GatewayEnv>, withReceipt: boolean): Promise<Response> {
  const body = await parseJsonBody(c, ChatCompletionBodySchema);
  const input = normalizeChatRequest(body);
  const registry = createModelRegistry(c.env);
  const model = registry.get(input.model);
  if (model.kind !== "chat") {
    throw invalidRequest(
      `'${model.id}' is an embedding model; use /v1/embeddings.`,
      "model",
      "model_not_chat",
    );
  }
  const backend = registry.backendFor(model);
  const id = newInferenceId();
  const record = async (completion: Completion) => {
    const receipt = await recordInference(c.env, {
      id,
      apiKeyId: c.get("apiKey").id,
      backend: model.backend,
      request: { kind: "chat", ...input },
      response: {
        kind: "chat",
        content: completion.content,
        finish_reason: completion.finishReason,
      },
      usage: completion.usage,
      stream: body.stream === true,
      user: body.user,
    });
    // The verification round starts once the record is stored, off the response path.
    c.executionCtx.waitUntil(startRound(c.env, id));
    return receipt;
  };

  if (body.stream && !withReceipt)
    throw invalidRequest("The bench route does not stream.", "stream");
  if (body.stream) {
    const abort = new AbortController();
    // Pull the first event before answering, so that a backend that fails at once gets its
    // real status (404, 503...) rather than a 200 stream carrying an error.
    const events = await started(backend.chat(model, input, abort.signal));
    return streamCompletion(c, { id, model, body, events, abort, record });
  }
  const completion = await collect(backend.chat(model, input));
  if (!withReceipt) return c.json({ id: `chatcmpl-${id}`, choices: [completion] });
  const receipt = await record(completion);
  return c.json(
    {
      id: `chatcmpl-${id}`,
      object: "chat.completion",
      created: Math.floor(receipt.createdAt / 1000),
      model: model.id,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: completion.content, refusal: null },
          logprobs: null,
          finish_reason: completion.finishReason,
        },
      ],
      usage: completion.usage,
      system_fingerprint: `verity-${model.backend}`,
      verity: verityBlock(receipt),
    },
    200,
    { [INFERENCE_ID_HEADER]: id },
  );
}

async function started<T>(events: AsyncIterable<T>): Promise<AsyncIterable<T>> {
  const iterator = events[Symbol.asyncIterator]();
  const first = await iterator.next();
  return {
    async *[Symbol.asyncIterator]() {
      if (first.done) return;
      yield first.value;
      for (let next = await iterator.next(); !next.done; next = await iterator.next())
        yield next.value;
    },
  };
}

async function collect(events: AsyncIterable<ChatEvent>): Promise<Completion> {
  let content = "";
  for await (const event of events) {
    if (event.type === "delta") content += event.text;
    else return { content, finishReason: event.finishReason, usage: usageOf(event.usage) };
  }
  throw upstreamError("The model backend ended its answer without finishing it.");
}

const usageOf = (u: { promptTokens: number; completionTokens: number }) => ({
  prompt_tokens: u.promptTokens,
  completion_tokens: u.completionTokens,
  total_tokens: u.promptTokens + u.completionTokens,
});

interface StreamJob {
  id: string;
  model: ModelInfo;
  body: ChatCompletionBody;
  events: AsyncIterable<ChatEvent>;
  abort: AbortController;
  record: (completion: Completion) => Promise<Receipt>;
}

/**
 * Streams OpenAI `chat.completion.chunk` events. The receipt rides in the last chunk before
 * `[DONE]`: the usage chunk when `stream_options.include_usage` is set, else the finish chunk.
 * A failure mid-stream is sent as an `error` event and the stream ends without `[DONE]`, so a
 * client can tell a complete answer from a cut one; no record or receipt exists for it.
 */
function streamCompletion(c: Context<GatewayEnv>, job: StreamJob): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  const created = Math.floor(Date.now() / 1000);
  const base = {
    id: `chatcmpl-${job.id}`,
    object: "chat.completion.chunk",
    created,
    model: job.model.id,
    system_fingerprint: `verity-${job.model.backend}`,
  };
  const includeUsage = job.body.stream_options?.include_usage === true;
  const send = (data: unknown) => writer.write(encoder.encode(`data: ${JSON.stringify(data)}\n\n`));
  const chunk = (delta: Record<string, unknown>, finishReason: FinishReason | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });

  const pump = async () => {
    try {
      await send(chunk({ role: "assistant", content: "" }));
      let content = "";
      for await (const event of job.events) {
        if (event.type === "delta") {
          content += event.text;
          await send(chunk({ content: event.text }));
          continue;
        }
        const completion = {
          content,
          finishReason: event.finishReason,
          usage: usageOf(event.usage),
        };
        const verity = verityBlock(await job.record(completion));
        if (includeUsage) {
          await send(chunk({}, completion.finishReason));
          await send({ ...base, choices: [], usage: completion.usage, verity });
        } else {
          await send({ ...chunk({}, completion.finishReason), verity });
        }
        await writer.write(encoder.encode("data: [DONE]\n\n"));
        await writer.close();
        return;
      }
      throw upstreamError("The model backend ended its answer without finishing it.");
    } catch (err) {
      job.abort.abort(err);
      const { error } = (await errorResponse(err).json()) as { error: unknown };
      await send({ error }).catch(() => {});
      await writer.close().catch(() => {});
    }
  };
  c.executionCtx.waitUntil(pump());
  return new Response(readable, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      [INFERENCE_ID_HEADER]: job.id,
    },
  });
}
