import { newInferenceId, type Receipt } from "@verity/protocol";
import { type ChatChoiceContent, ChatResponseContent } from "@verity/protocol/response";
import type { Context } from "hono";
import type { ChatEvent, ChatInput, ModelInfo } from "../../backends/backend";
import { ChoiceBuilder, responseOf } from "../../backends/chat-response";
import { createModelRegistry } from "../../backends/registry";
import { upstreamError } from "../../errors";
import type { GatewayEnv } from "./gateway-env";
import { recordInference } from "./record-inference";
import { startRound } from "./rounds";

/** An event of one choice: `choice` says which. */
export type RunEvent = ChatEvent & { choice: number };

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** What a finished run recorded: the hashed response, OpenAI's usage and the signed receipt. */
export interface RecordedChat {
  response: ChatResponseContent;
  usage: ChatUsage;
  receipt: Receipt;
}

export interface ChatRunOptions {
  input: ChatInput;
  model: ModelInfo;
  stream: boolean;
  user?: string;
}

/**
 * One inference as every API shape (Chat Completions, Responses, legacy Completions) runs it:
 * the request's `n` choices generated one after the other, each from its own `chat` call, then
 * the record stored and its receipt signed. A route maps `events()` to its wire format and,
 * once they are exhausted, calls `finish()`.
 */
export class ChatRun {
  readonly id = newInferenceId();
  readonly choices: ChatChoiceContent[] = [];
  #promptTokens = 0;
  #completionTokens = 0;

  private constructor(
    private readonly c: Context<GatewayEnv>,
    readonly options: ChatRunOptions,
    private readonly abort: AbortController,
    private readonly first: AsyncIterator<ChatEvent>,
    private readonly firstEvent: IteratorResult<ChatEvent>,
  ) {}

  /**
   * Starts choice 0 and waits for its first event, so that a backend that fails at once (an
   * unknown model, a schema it cannot decode to, an upstream that is down) fails the request
   * with its own status instead of a 200 stream that carries an error.
   */
  static async start(c: Context<GatewayEnv>, options: ChatRunOptions): Promise<ChatRun> {
    const abort = new AbortController();
    const iterator = chatOf(c, options, 0, abort.signal)[Symbol.asyncIterator]();
    const first = await iterator.next();
    return new ChatRun(c, options, abort, iterator, first);
  }

  get model(): ModelInfo {
    return this.options.model;
  }

  /** Stops the backend: the client went away, or a route failed mid-answer. */
  cancel(reason: unknown): void {
    this.abort.abort(reason);
  }

  /** Every choice's events in order, each choice ending with its `done`. */
  async *events(): AsyncGenerator<RunEvent, void, undefined> {
    const count = this.options.input.n ?? 1;
    for (let choice = 0; choice < count; choice++) {
      const iterator =
        choice === 0
          ? this.first
          : chatOf(this.c, this.options, choice, this.abort.signal)[Symbol.asyncIterator]();
      let next = choice === 0 ? this.firstEvent : await iterator.next();
      const answer = new ChoiceBuilder(this.options.input.logprobs === true);
      for (; !next.done; next = await iterator.next()) {
        const event = next.value;
        answer.add(event);
        if (event.type === "done") {
          // The choice is complete before its `done` is passed on: a route that finishes the
          // run on the last `done` records every choice.
          this.choices.push(answer.content());
          this.#promptTokens = event.usage.promptTokens;
          this.#completionTokens += event.usage.completionTokens;
          yield { ...event, choice };
          break;
        }
        yield { ...event, choice };
      }
      if (!answer.done) {
        throw upstreamError("The model backend ended its answer without finishing it.");
      }
    }
  }

  /** OpenAI's usage: the prompt once, the completion tokens of every choice together. */
  get usage(): ChatUsage {
    return {
      prompt_tokens: this.#promptTokens,
      completion_tokens: this.#completionTokens,
      total_tokens: this.#promptTokens + this.#completionTokens,
    };
  }

  /** The response as hashed into the receipt; call after `events()` is exhausted. */
  get response(): ChatResponseContent {
    return responseOf(this.choices);
  }

  /**
   * Signs the receipt and stores the record, then starts the verification round off the
   * response path. Only then may the answer be completed: no receipt without a record.
   */
  async finish(): Promise<RecordedChat> {
    const { input, model, stream, user } = this.options;
    const response = this.response;
    // An upstream can send what the protocol cannot hold (a tool call without a name, say):
    // refused here, it is a 502 and no receipt, rather than a record no round can read.
    const checked = ChatResponseContent.safeParse(response);
    if (!checked.success) {
      throw upstreamError(
        `The model backend's answer is malformed: ${checked.error.issues[0]?.message ?? "invalid"} at ${checked.error.issues[0]?.path.join(".") ?? "?"}.`,
      );
    }
    const usage = this.usage;
    const receipt = await recordInference(this.c.env, {
      id: this.id,
      apiKeyId: this.c.get("apiKey").id,
      backend: model.backend,
      request: { kind: "chat", ...input },
      response,
      usage: { ...usage },
      stream,
      user,
    });
    this.c.executionCtx.waitUntil(startRound(this.c.env, this.id));
    return { response, usage, receipt };
  }
}

function chatOf(
  c: Context<GatewayEnv>,
  options: ChatRunOptions,
  choice: number,
  signal: AbortSignal,
): AsyncIterable<ChatEvent> {
  return createModelRegistry(c.env)
    .backendFor(options.model)
    .chat(options.model, options.input, { signal, choice });
}
