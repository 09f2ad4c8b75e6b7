import type { ToolCall } from "@verity/protocol/request";
import type { ChatChoiceContent, ChosenTokenLogprob } from "@verity/protocol/response";
import { INFERENCE_ID_HEADER } from "@verity/protocol/verity-client";
import type { Context } from "hono";
import { VerityError } from "../../errors";
import { chatModel, logprobsOut } from "./chat-completions";
import { ChatRun, type ChatUsage } from "./chat-run";
import type { GatewayEnv } from "./gateway-env";
import { parseJsonBody } from "./json-body";
import { verityBlock } from "./record-inference";
import {
  functionCallItemId,
  itemResolver,
  messageItemId,
  previousResponse,
  responseId,
} from "./responses-previous";
import {
  type NormalizedResponses,
  normalizeResponsesRequest,
  ResponsesBody,
} from "./responses-request";
import { type SendEvent, sseResponse } from "./sse-response";

/**
 * `POST /v1/responses`: OpenAI's Responses API on the engine of Chat Completions. The body is
 * translated into the one canonical chat request (responses-request.ts), run, signed and
 * recorded like a chat completion, and answered as a Response object (JSON or typed
 * Server-Sent Events), with the receipt in `verity`.
 */
export async function responses(c: Context<GatewayEnv>): Promise<Response> {
  const body = await parseJsonBody(c, ResponsesBody);
  const model = chatModel(c, body.model);
  const previous =
    body.previous_response_id != null
      ? await previousResponse(c, body.previous_response_id)
      : undefined;
  const request = await normalizeResponsesRequest(body, model, {
    previous,
    resolveItem: itemResolver(c),
  });
  const stream = body.stream === true;
  const run = await ChatRun.start(c, {
    input: request.input,
    model,
    stream,
    user: body.user,
  }).catch((err: unknown) => {
    throw request.renamed(err);
  });
  const shape = new ResponseShape(body, request, run, Math.floor(Date.now() / 1000));
  if (stream) return streamResponse(c, run, shape);

  for await (const _ of run.events());
  const { usage, receipt } = await run.finish();
  const choice = run.choices[0];
  if (!choice) throw new Error("a finished run has a choice");
  return c.json(
    {
      ...shape.finished(outputOf(run.id, choice, request.logprobs), choice, usage),
      verity: verityBlock(receipt),
    },
    200,
    { [INFERENCE_ID_HEADER]: run.id },
  );
}

type ItemStatus = "in_progress" | "completed" | "incomplete";

const outputText = (text: string, logprobs: readonly ChosenTokenLogprob[] | undefined) => ({
  type: "output_text" as const,
  text,
  annotations: [],
  logprobs: logprobs ? logprobsOut(logprobs).content : [],
});

const messageItem = (
  inferenceId: string,
  status: ItemStatus,
  content: ReturnType<typeof outputText>[],
) => ({
  id: messageItemId(inferenceId),
  type: "message" as const,
  status,
  role: "assistant" as const,
  content,
});

const functionCallItem = (
  inferenceId: string,
  index: number,
  call: ToolCall,
  status: ItemStatus,
) => ({
  id: functionCallItemId(inferenceId, index),
  type: "function_call" as const,
  status,
  call_id: call.id,
  name: call.function.name,
  arguments: call.function.arguments,
});

type OutputItem = ReturnType<typeof messageItem> | ReturnType<typeof functionCallItem>;

/**
 * The output items of a finished answer: its text as one message (also when it is empty and
 * there is no call, so every answer has an item), then one `function_call` item per call. An
 * answer cut at `max_output_tokens` has its items `incomplete`.
 */
function outputOf(inferenceId: string, choice: ChatChoiceContent, logprobs: boolean): OutputItem[] {
  const status = itemStatus(choice.finish_reason);
  const items: OutputItem[] = [];
  if (choice.content !== "" || !choice.tool_calls) {
    const entries = logprobs ? (choice.logprobs?.content ?? []) : undefined;
    items.push(messageItem(inferenceId, status, [outputText(choice.content, entries)]));
  }
  choice.tool_calls?.forEach((call, i) => {
    items.push(functionCallItem(inferenceId, i, call, status));
  });
  return items;
}

const itemStatus = (finish: ChatChoiceContent["finish_reason"]): ItemStatus =>
  finish === "length" ? "incomplete" : "completed";

/** OpenAI's Responses usage, from the run's: no cached input, no reasoning tokens here. */
const usageOf = (usage: ChatUsage) => ({
  input_tokens: usage.prompt_tokens,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: usage.completion_tokens,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: usage.total_tokens,
});

/**
 * The Response object at each stage: what the request asked for, echoed as OpenAI does
 * (`temperature`, `top_p`, `max_output_tokens` as resolved for the canonical request), then
 * the output and usage once the answer is done.
 */
class ResponseShape {
  constructor(
    private readonly body: ResponsesBody,
    private readonly request: NormalizedResponses,
    private readonly run: ChatRun,
    private readonly createdAt: number,
  ) {}

  /** The response before any output: `response.created` and `response.in_progress`. */
  base() {
    const { body, request } = this;
    const { input } = request;
    return {
      id: responseId(this.run.id),
      object: "response" as const,
      created_at: this.createdAt,
      status: "in_progress" as string,
      background: false,
      error: null as null | { code: string; message: string },
      incomplete_details: null as null | { reason: string },
      instructions: body.instructions ?? null,
      max_output_tokens: input.max_tokens,
      max_tool_calls: null,
      model: this.run.model.id,
      output: [] as OutputItem[],
      output_text: "",
      parallel_tool_calls: input.parallel_tool_calls !== false,
      previous_response_id: body.previous_response_id ?? null,
      prompt_cache_key: body.prompt_cache_key ?? null,
      reasoning: { effort: null, summary: null },
      safety_identifier: body.safety_identifier ?? null,
      service_tier: "default",
      store: body.store ?? true,
      temperature: input.temperature,
      text: { format: request.format, verbosity: "medium" },
      tool_choice: body.tool_choice ?? "auto",
      tools: request.tools.map((tool) => ({
        type: "function" as const,
        name: tool.name,
        description: tool.description ?? null,
        parameters: tool.parameters ?? null,
        strict: tool.strict ?? true,
      })),
      top_logprobs: input.top_logprobs ?? 0,
      top_p: input.top_p,
      truncation: body.truncation ?? "disabled",
      usage: null as null | ReturnType<typeof usageOf>,
      user: body.user ?? null,
      metadata: body.metadata ?? {},
    };
  }

  /**
   * The finished response: `completed`, or `incomplete` with `max_output_tokens` as the reason
   * when the answer was cut. `output_text` joins the text of the output, as the SDKs compute it
   * on their side; it is here for clients without one.
   */
  finished(output: OutputItem[], choice: ChatChoiceContent, usage: ChatUsage) {
    const cut = choice.finish_reason === "length";
    return {
      ...this.base(),
      status: cut ? "incomplete" : "completed",
      incomplete_details: cut ? { reason: "max_output_tokens" } : null,
      output,
      output_text: output
        .flatMap((item) => (item.type === "message" ? item.content.map((part) => part.text) : []))
        .join(""),
      usage: usageOf(usage),
    };
  }

  /** The response of a stream that failed: `failed`, with the error it failed with. */
  failed(output: OutputItem[], error: { code: string; message: string }) {
    return { ...this.base(), status: "failed", error, output };
  }
}

/**
 * Streams the typed events of the Responses API, each with its `sequence_number` and named by
 * its `event:` line: `response.created`, `response.in_progress`, then per output item
 * `response.output_item.added`, its content (`response.content_part.added`,
 * `response.output_text.delta`s, `response.output_text.done`, `response.content_part.done`;
 * or `response.function_call_arguments.delta`s and `.done`) and `response.output_item.done`,
 * and last `response.completed` (or `response.incomplete`) with the usage and the receipt.
 * There is no `[DONE]` marker in this API. A failure mid-stream sends `response.failed`, then
 * an `error` event in OpenAI's shape (`code`, `message`, `param`), which makes the SDKs throw.
 */
function streamResponse(c: Context<GatewayEnv>, run: ChatRun, shape: ResponseShape): Response {
  let sequence = 0;
  const stream = new ResponseEvents(run, shape);
  return sseResponse(
    c,
    run,
    async (send) => {
      stream.send = (type, fields) => send({ type, sequence_number: sequence++, ...fields }, type);
      try {
        await stream.pump();
      } catch (err) {
        await stream.fail(err).catch(() => {});
        throw err;
      }
    },
    {
      failure: (error) => {
        const { code, message, param } = error as {
          code?: string;
          message?: string;
          param?: string;
        };
        return {
          event: "error",
          data: {
            type: "error",
            sequence_number: sequence++,
            code: code ?? null,
            message: message ?? "The response failed.",
            param: param ?? null,
          },
        };
      },
    },
  );
}

/** One streamed answer: the items as they open and close, in output order. */
class ResponseEvents {
  send: (type: string, fields: Record<string, unknown>) => ReturnType<SendEvent> = async () => {};
  readonly #output: OutputItem[] = [];
  #message: { index: number; text: string; logprobs: ChosenTokenLogprob[] } | undefined;
  readonly #calls = new Map<number, { index: number; call: ToolCall; order: number }>();
  #hasMessage = false;

  constructor(
    private readonly run: ChatRun,
    private readonly shape: ResponseShape,
  ) {}

  private get logprobs() {
    return this.run.options.input.logprobs === true;
  }

  async pump(): Promise<void> {
    await this.send("response.created", { response: this.shape.base() });
    await this.send("response.in_progress", { response: this.shape.base() });
    for await (const event of this.run.events()) {
      if (event.type === "delta") {
        if (event.text === "" && !event.logprobs?.length) continue;
        const message = this.#message ?? (await this.openMessage());
        message.text += event.text;
        if (event.logprobs) message.logprobs.push(...event.logprobs);
        await this.send("response.output_text.delta", {
          item_id: messageItemId(this.run.id),
          output_index: message.index,
          content_index: 0,
          delta: event.text,
          logprobs: logprobsOut(event.logprobs ?? []).content,
        });
      } else if (event.type === "tool_call") {
        await this.toolCall(event);
      } else {
        const status = itemStatus(event.finishReason);
        if (!this.#hasMessage && this.#calls.size === 0) await this.openMessage();
        if (this.#message) await this.closeMessage(status);
        for (const call of [...this.#calls.values()].sort((a, b) => a.index - b.index)) {
          await this.closeCall(call, status);
        }
      }
    }
    const { usage, receipt } = await this.run.finish();
    const choice = this.run.choices[0];
    if (!choice) throw new Error("a finished run has a choice");
    const response = this.shape.finished(this.#output, choice, usage);
    await this.send(
      response.status === "incomplete" ? "response.incomplete" : "response.completed",
      { response: { ...response, verity: verityBlock(receipt) } },
    );
  }

  /** `response.failed` with the error, before sseResponse's `error` event. */
  async fail(err: unknown): Promise<void> {
    const error =
      err instanceof VerityError
        ? { code: err.code, message: err.message }
        : {
            code: "server_error",
            message: "The server had an error while processing your request.",
          };
    await this.send("response.failed", { response: this.shape.failed(this.#output, error) });
  }

  private async openMessage() {
    const index = this.#output.length;
    const message = { index, text: "", logprobs: [] };
    this.#message = message;
    this.#hasMessage = true;
    this.#output.push(messageItem(this.run.id, "in_progress", []));
    await this.send("response.output_item.added", {
      output_index: index,
      item: messageItem(this.run.id, "in_progress", []),
    });
    await this.send("response.content_part.added", {
      item_id: messageItemId(this.run.id),
      output_index: index,
      content_index: 0,
      part: outputText("", undefined),
    });
    return message;
  }

  private async closeMessage(status: ItemStatus) {
    const message = this.#message;
    if (!message) return;
    this.#message = undefined;
    const itemId = messageItemId(this.run.id);
    const part = outputText(message.text, this.logprobs ? message.logprobs : undefined);
    await this.send("response.output_text.done", {
      item_id: itemId,
      output_index: message.index,
      content_index: 0,
      text: message.text,
      logprobs: part.logprobs,
    });
    await this.send("response.content_part.done", {
      item_id: itemId,
      output_index: message.index,
      content_index: 0,
      part,
    });
    const item = messageItem(this.run.id, status, [part]);
    this.#output[message.index] = item;
    await this.send("response.output_item.done", { output_index: message.index, item });
  }

  /**
   * A call's first piece (with its id and name) opens its item, after closing the text before
   * it; later pieces are argument deltas.
   */
  private async toolCall(event: { index: number; id?: string; name?: string; arguments: string }) {
    let open = this.#calls.get(event.index);
    if (!open) {
      if (this.#message) await this.closeMessage("completed");
      const call: ToolCall = {
        id: event.id ?? "",
        type: "function",
        function: { name: event.name ?? "", arguments: "" },
      };
      open = { index: this.#output.length, call, order: event.index };
      this.#calls.set(event.index, open);
      const item = functionCallItem(this.run.id, event.index, call, "in_progress");
      this.#output.push(item);
      await this.send("response.output_item.added", { output_index: open.index, item });
    }
    if (event.id) open.call.id = event.id;
    if (event.name) open.call.function.name = event.name;
    if (event.arguments === "") return;
    open.call.function.arguments += event.arguments;
    await this.send("response.function_call_arguments.delta", {
      item_id: functionCallItemId(this.run.id, open.order),
      output_index: open.index,
      delta: event.arguments,
    });
  }

  private async closeCall(
    open: { index: number; call: ToolCall; order: number },
    status: ItemStatus,
  ) {
    const item = functionCallItem(this.run.id, open.order, open.call, status);
    await this.send("response.function_call_arguments.done", {
      item_id: item.id,
      output_index: open.index,
      name: item.name,
      arguments: item.arguments,
    });
    this.#output[open.index] = item;
    await this.send("response.output_item.done", { output_index: open.index, item });
  }
}
