import type { ToolCall } from "@verity/protocol/request";
import type {
  ChatChoiceContent,
  ChatResponseContent,
  ChosenTokenLogprob,
} from "@verity/protocol/response";
import type { Backend, ChatEvent, ChatInput, ChatOptions, ModelInfo } from "./backend";

/** The response as hashed: choice 0 at the top level, the others in `other_choices`. */
export function responseOf(choices: readonly ChatChoiceContent[]): ChatResponseContent {
  const [first, ...others] = choices;
  if (!first) throw new Error("a chat response has at least one choice");
  return others.length > 0
    ? { kind: "chat", ...first, other_choices: others }
    : { kind: "chat", ...first };
}

/**
 * Runs every choice of a request to the end and returns the response as the gateway hashes
 * it, and the completion tokens of all choices: what a verifier compares a record against.
 */
export async function collectChatResponse(
  backend: Backend,
  model: ModelInfo,
  input: ChatInput,
  signal?: ChatOptions["signal"],
): Promise<{ response: ChatResponseContent; promptTokens: number; completionTokens: number }> {
  const choices: ChatChoiceContent[] = [];
  let promptTokens = 0;
  let completionTokens = 0;
  for (let choice = 0; choice < (input.n ?? 1); choice++) {
    const answer = new ChoiceBuilder(input.logprobs === true);
    for await (const event of backend.chat(model, input, { signal, choice })) {
      answer.add(event);
      if (event.type === "done") break;
    }
    choices.push(answer.content());
    promptTokens = answer.done?.usage.promptTokens ?? 0;
    completionTokens += answer.done?.usage.completionTokens ?? 0;
  }
  return { response: responseOf(choices), promptTokens, completionTokens };
}

/** Gathers one choice's events into what is hashed: text, tool calls, logprobs, finish. */
export class ChoiceBuilder {
  done: Extract<ChatEvent, { type: "done" }> | undefined;
  #content = "";
  #calls: ToolCall[] = [];
  #logprobs: ChosenTokenLogprob[] | undefined;

  constructor(withLogprobs: boolean) {
    if (withLogprobs) this.#logprobs = [];
  }

  add(event: ChatEvent): void {
    switch (event.type) {
      case "delta":
        this.#content += event.text;
        if (event.logprobs) this.#logprobs?.push(...event.logprobs);
        return;
      case "tool_call": {
        const call = this.#calls[event.index] ?? {
          id: event.id ?? "",
          type: "function",
          function: { name: event.name ?? "", arguments: "" },
        };
        this.#calls[event.index] = call;
        if (event.id) call.id = event.id;
        if (event.name) call.function.name = event.name;
        call.function.arguments += event.arguments;
        return;
      }
      case "done":
        this.done = event;
    }
  }

  /** The choice as hashed; call after `done`. */
  content(): ChatChoiceContent {
    if (!this.done) throw new Error("the choice has not finished");
    const choice: ChatChoiceContent = {
      content: this.#content,
      finish_reason: this.done.finishReason,
    };
    const calls = this.#calls.filter(Boolean);
    if (calls.length > 0) choice.tool_calls = calls;
    if (this.#logprobs) choice.logprobs = { content: this.#logprobs };
    return choice;
  }
}
