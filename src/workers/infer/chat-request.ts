import {
  type ChatMessage,
  FunctionTool,
  JsonSchema,
  type ResponseFormat,
  ToolCall,
  ToolChoice,
} from "@verity/protocol/request";
import { z } from "zod";
import type { ChatInput, ModelInfo } from "../../backends/backend";
import { estimatePromptTokens } from "../../backends/token-estimate";
import { invalidRequest } from "../../errors";
import {
  ChoiceCount,
  LogitBias,
  Penalty,
  Seed,
  Stop,
  StreamOptions,
  Temperature,
  TopP,
} from "./sampling-fields";

export const DEFAULT_MAX_TOKENS = 256;
/** Each generated token looks at every bias, so their number is bounded. */
export const MAX_LOGIT_BIAS = 1_024;

const TextPart = z.strictObject({ type: z.literal("text"), text: z.string() });
// Parts a model may not take. They are parsed so that the refusal can say which model cannot
// take them, rather than calling a well-formed request malformed.
const ImagePart = z.strictObject({
  type: z.literal("image_url"),
  image_url: z.strictObject({
    url: z.string(),
    detail: z.enum(["auto", "low", "high"]).optional(),
  }),
});
const AudioPart = z.strictObject({
  type: z.literal("input_audio"),
  input_audio: z.strictObject({ data: z.string(), format: z.string() }),
});
const FilePart = z.strictObject({
  type: z.literal("file"),
  file: z.strictObject({
    file_data: z.string().optional(),
    file_id: z.string().optional(),
    filename: z.string().optional(),
  }),
});
const UserPart = z.discriminatedUnion("type", [TextPart, ImagePart, AudioPart, FilePart]);
const RefusalPart = z.strictObject({ type: z.literal("refusal"), refusal: z.string() });

const textContent = z.union([z.string(), z.array(TextPart).min(1)]);
const name = z.string().max(64).optional();

/** Every message shape of the Chat Completions API. */
const Message = z.discriminatedUnion("role", [
  z.strictObject({ role: z.enum(["system", "developer"]), content: textContent, name }),
  z.strictObject({
    role: z.literal("user"),
    content: z.union([z.string(), z.array(UserPart).min(1)]),
    name,
  }),
  z.strictObject({
    role: z.literal("assistant"),
    content: z.union([z.string(), z.array(z.union([TextPart, RefusalPart])), z.null()]).optional(),
    refusal: z.string().nullish(),
    name,
    tool_calls: z.array(ToolCall).nullish(),
    // What the previous answer carried; it changes nothing about the next one.
    audio: z.strictObject({ id: z.string() }).nullish(),
    annotations: z.array(z.unknown()).nullish(),
  }),
  z.strictObject({
    role: z.literal("tool"),
    content: textContent,
    tool_call_id: z.string().min(1),
    // LangChain's ToolMessage carries the tool's name; like every message name, it is dropped.
    name,
  }),
]);

const TokenCount = z.number().int().min(1).nullish();

/**
 * The body of `POST /v1/chat/completions`: every field OpenAI's API takes. Fields that cannot
 * change an answer here (`store`, `metadata`, `service_tier`, `prediction`...) are accepted and
 * ignored; unknown fields are refused.
 */
export const ChatCompletionBody = z.strictObject({
  model: z.string().min(1),
  messages: z.array(Message).min(1).max(1024),
  temperature: Temperature,
  top_p: TopP,
  max_tokens: TokenCount,
  max_completion_tokens: TokenCount,
  seed: Seed,
  stop: Stop,
  n: ChoiceCount,
  stream: z.boolean().nullish(),
  stream_options: StreamOptions,
  frequency_penalty: Penalty,
  presence_penalty: Penalty,
  logit_bias: LogitBias,
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  tools: z.array(FunctionTool).max(128).nullish(),
  tool_choice: ToolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: z
    .discriminatedUnion("type", [
      z.strictObject({ type: z.literal("text") }),
      z.strictObject({ type: z.literal("json_object") }),
      z.strictObject({
        type: z.literal("json_schema"),
        json_schema: z.strictObject({
          name: z
            .string()
            .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1 to 64 of a-z, A-Z, 0-9, _ and -"),
          description: z.string().optional(),
          schema: JsonSchema.optional(),
          strict: z.boolean().nullish(),
        }),
      }),
    ])
    .nullish(),
  modalities: z.array(z.enum(["text", "audio"])).nullish(),
  audio: z.looseObject({}).nullish(),
  reasoning_effort: z.enum(["none", "minimal", "low", "medium", "high"]).nullish(),
  // Accepted and ignored: nothing is stored beyond the record every call gets, there is one
  // service tier, and predicted outputs only speed up a model that supports them.
  store: z.boolean().nullish(),
  metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
  service_tier: z.enum(["auto", "default", "flex", "scale", "priority"]).nullish(),
  prediction: z
    .strictObject({ type: z.literal("content"), content: z.union([z.string(), z.array(TextPart)]) })
    .nullish(),
  prompt_cache_key: z.string().nullish(),
  safety_identifier: z.string().max(64).nullish(),
  user: z.string().max(256).optional(),
});
export type ChatCompletionBody = z.output<typeof ChatCompletionBody>;

const randomSeed = () => crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;

const joinText = (content: string | readonly { text: string }[]) =>
  typeof content === "string" ? content : content.map((part) => part.text).join("");

/**
 * Resolves every default so the result fully determines the generation: this is the request
 * that is hashed into the receipt and that verifiers re-execute. Without a seed, one is drawn.
 * Fields at their default are left out (see `NormalizedChatRequest`). Refuses, with OpenAI's
 * 400 and the field at fault, what the model declares it cannot do.
 */
export function normalizeChatRequest(body: ChatCompletionBody, model: ModelInfo): ChatInput {
  const abilities = model.capabilities;
  const cannot = (what: string, param: string) =>
    invalidRequest(`The model '${model.id}' does not support ${what}.`, param, "unsupported_value");

  if (body.stream_options && !body.stream) {
    throw invalidRequest("stream_options is only allowed when stream is true.", "stream_options");
  }
  if (body.modalities?.includes("audio") || body.audio) {
    throw cannot("audio output", body.audio ? "audio" : "modalities");
  }
  if (body.reasoning_effort != null) throw cannot("reasoning_effort", "reasoning_effort");

  const maxTokensParam =
    body.max_completion_tokens != null ? "max_completion_tokens" : "max_tokens";
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_MAX_TOKENS;
  if (maxTokens > abilities.maxOutputTokens) {
    throw invalidRequest(
      `${maxTokensParam} is too large: ${maxTokens}. The model '${model.id}' supports at most ${abilities.maxOutputTokens} completion tokens.`,
      maxTokensParam,
    );
  }
  const n = body.n ?? 1;
  if (n > abilities.maxChoices) {
    throw invalidRequest(
      `n is too large: ${n}. The model '${model.id}' gives at most ${abilities.maxChoices} choices per request.`,
      "n",
    );
  }

  const messages = normalizeMessages(body, model);
  // An estimate (about four characters a token) on purpose: it must not refuse a prompt that
  // fits, only one that plainly cannot. A backend that counts exactly still refuses the rest.
  const promptTokens = estimatePromptTokens(messages, body.tools ?? []);
  if (promptTokens + maxTokens > abilities.contextWindow) {
    throw invalidRequest(
      `This model's maximum context length is ${abilities.contextWindow} tokens. However, you requested about ${promptTokens + maxTokens} tokens (about ${promptTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
      "messages",
      "context_length_exceeded",
    );
  }

  const input: ChatInput = {
    model: model.id,
    messages,
    temperature: body.temperature ?? 1,
    top_p: body.top_p ?? 1,
    max_tokens: maxTokens,
    seed: body.seed ?? randomSeed(),
    stop: body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop,
  };
  if (n > 1) input.n = n;
  if (body.frequency_penalty) input.frequency_penalty = body.frequency_penalty;
  if (body.presence_penalty) input.presence_penalty = body.presence_penalty;
  // A bias of 0 changes nothing, so, like every default, it is not written.
  const bias = Object.entries(body.logit_bias ?? {}).filter(([, value]) => value !== 0);
  if (bias.length > MAX_LOGIT_BIAS) {
    throw invalidRequest(
      `logit_bias has ${bias.length} entries; at most ${MAX_LOGIT_BIAS} are allowed.`,
      "logit_bias",
    );
  }
  if (bias.length > 0) {
    for (const [key] of bias) {
      if (!/^(0|[1-9][0-9]{0,8})$/.test(key)) {
        throw invalidRequest(
          `Invalid logit_bias key '${key}': keys are token ids, written as decimal integers.`,
          "logit_bias",
        );
      }
    }
    input.logit_bias = Object.fromEntries(bias);
  }

  if (body.top_logprobs != null && body.logprobs !== true) {
    throw invalidRequest("top_logprobs requires logprobs to be true.", "top_logprobs");
  }
  if (body.logprobs) {
    if (!abilities.logprobs) throw cannot("logprobs", "logprobs");
    input.logprobs = true;
    if (body.top_logprobs) input.top_logprobs = body.top_logprobs;
  }

  const tools = body.tools ?? [];
  const choice = body.tool_choice ?? "auto";
  // With no tools, "none" and "auto" mean the same thing: apps send them by default.
  if (tools.length === 0 && choice !== "none" && choice !== "auto") {
    throw invalidRequest(
      "tool_choice requires tools: there is no function to call.",
      "tool_choice",
    );
  }
  if (tools.length > 0) {
    if (!abilities.tools) throw cannot("tools", "tools");
    const names = new Set<string>();
    tools.forEach((tool, i) => {
      if (names.has(tool.function.name)) {
        throw invalidRequest(
          `Duplicate tool name '${tool.function.name}': each function needs its own name.`,
          `tools.${i}.function.name`,
        );
      }
      names.add(tool.function.name);
    });
    if (typeof choice === "object" && !names.has(choice.function.name)) {
      throw invalidRequest(
        `tool_choice names the function '${choice.function.name}', which is not in tools.`,
        "tool_choice.function.name",
      );
    }
    input.tools = tools;
    input.tool_choice = choice;
    if (body.parallel_tool_calls === false) input.parallel_tool_calls = false;
  }

  const format = responseFormat(body);
  if (format) {
    if (!abilities.jsonSchema) throw cannot(`response_format '${format.type}'`, "response_format");
    input.response_format = format;
  }
  return input;
}

function responseFormat(body: ChatCompletionBody): ResponseFormat | undefined {
  const format = body.response_format;
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { type: "json_object" };
  const { strict, ...rest } = format.json_schema;
  return { type: "json_schema", json_schema: strict == null ? rest : { ...rest, strict } };
}

/**
 * Messages as the canonical request writes them: text content as one string (`null` as ""),
 * `developer` as `system`, tool calls and the ids they are answered by. A tool message must
 * answer a call of an earlier assistant message, as OpenAI requires.
 */
function normalizeMessages(body: ChatCompletionBody, model: ModelInfo): ChatMessage[] {
  const callIds = new Set<string>();
  return body.messages.map((message, i) => normalizeMessage(message, i, model, callIds));
}

function normalizeMessage(
  message: ChatCompletionBody["messages"][number],
  i: number,
  model: ModelInfo,
  callIds: Set<string>,
): ChatMessage {
  switch (message.role) {
    case "system":
    case "developer":
      return { role: "system", content: joinText(message.content) };
    case "user": {
      if (typeof message.content === "string") return { role: "user", content: message.content };
      const texts: string[] = [];
      message.content.forEach((part, j) => {
        if (part.type === "text") {
          texts.push(part.text);
          return;
        }
        // The canonical request holds text only, so no model here can take other parts yet.
        const what = { image_url: "images", input_audio: "audio input", file: "files" }[part.type];
        throw invalidRequest(
          `The model '${model.id}' does not support ${what}; send text parts only.`,
          `messages.${i}.content.${j}`,
          "unsupported_value",
        );
      });
      return { role: "user", content: texts.join("") };
    }
    case "assistant": {
      const content =
        message.content == null
          ? ""
          : typeof message.content === "string"
            ? message.content
            : message.content.map((part) => ("text" in part ? part.text : part.refusal)).join("");
      const calls = message.tool_calls ?? [];
      for (const call of calls) callIds.add(call.id);
      return calls.length > 0
        ? { role: "assistant", content, tool_calls: calls }
        : { role: "assistant", content };
    }
    case "tool":
      if (!callIds.has(message.tool_call_id)) {
        throw invalidRequest(
          `messages.${i} is a tool message answering '${message.tool_call_id}', but no earlier assistant message made a tool call with that id.`,
          `messages.${i}.tool_call_id`,
        );
      }
      return {
        role: "tool",
        content: joinText(message.content),
        tool_call_id: message.tool_call_id,
      };
  }
}
