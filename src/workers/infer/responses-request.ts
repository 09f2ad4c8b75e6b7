import { type ChatMessage, JsonSchema } from "@verity/protocol/request";
import { continuedMessages, type TaskHistory } from "@verity/protocol/verification-task";
import { z } from "zod";
import type { ChatInput, ModelInfo } from "../../backends/backend";
import { invalidRequest, VerityError } from "../../errors";
import { ChatCompletionBody, normalizeChatRequest } from "./chat-request";
import { validate } from "./json-body";
import { Seed, Temperature, TopP } from "./sampling-fields";

const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const functionName = "must be 1 to 64 of a-z, A-Z, 0-9, _ and -";

/** Response fields a client may include; they name outputs of tools this gateway does not have. */
const INCLUDABLE = [
  "file_search_call.results",
  "web_search_call.results",
  "web_search_call.action.sources",
  "message.input_image.image_url",
  "computer_call_output.output.image_url",
  "code_interpreter_call.outputs",
  "reasoning.encrypted_content",
  "message.output_text.logprobs",
] as const;
export const LOGPROBS_INCLUDE = "message.output_text.logprobs";

const TextFormat = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("text") }),
  z.strictObject({ type: z.literal("json_object") }),
  z.strictObject({
    type: z.literal("json_schema"),
    name: z.string().regex(FUNCTION_NAME, functionName),
    schema: JsonSchema,
    description: z.string().nullish(),
    strict: z.boolean().nullish(),
  }),
]);

/**
 * The body of `POST /v1/responses`: OpenAI's Responses API, on the same engine as Chat
 * Completions. `input` items and `tools` are read one by one (see `readItem`, `readTool`), so a
 * refusal can name the item type or tool type it does not take. Fields that cannot change an
 * answer here are accepted and ignored (`store`, `metadata`, `service_tier`, `truncation`,
 * `prompt_cache_key`, `prompt_cache_retention`, `safety_identifier`, `stream_options`, the
 * `include` values of tools this gateway does not have); fields it cannot honour are refused
 * with their name (`background`, `conversation`, `prompt`, `max_tool_calls`,
 * `context_management`, `reasoning`); unknown fields are refused. `seed` is a Verity extension:
 * the Responses API has none, and without one the gateway draws it.
 */
export const ResponsesBody = z.strictObject({
  model: z.string().min(1),
  // At most as many items as a conversation may have messages, checked before any
  // item_reference is looked up, so a flood of references costs no lookups.
  input: z.union([z.string(), z.array(z.unknown()).min(1).max(1024)]).optional(),
  instructions: z.string().nullish(),
  previous_response_id: z.string().nullish(),
  tools: z.array(z.unknown()).max(128).nullish(),
  tool_choice: z
    .union([z.enum(["none", "auto", "required"]), z.looseObject({ type: z.string() })])
    .nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z
    .strictObject({
      format: TextFormat.nullish(),
      verbosity: z.enum(["low", "medium", "high"]).nullish(),
    })
    .nullish(),
  temperature: Temperature,
  top_p: TopP,
  max_output_tokens: z.number().int().min(1).nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  include: z.array(z.enum(INCLUDABLE)).nullish(),
  seed: Seed,
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_obfuscation: z.boolean().optional() }).nullish(),
  user: z.string().max(256).optional(),
  // Accepted and ignored: every call is recorded whatever `store` says (so a later
  // previous_response_id always finds it), there is one service tier, a conversation that
  // does not fit is refused rather than truncated, and caching hints change no answer.
  store: z.boolean().nullish(),
  metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
  service_tier: z.enum(["auto", "default", "flex", "scale", "priority"]).nullish(),
  truncation: z.enum(["auto", "disabled"]).nullish(),
  prompt_cache_key: z.string().nullish(),
  prompt_cache_retention: z.enum(["in_memory", "24h"]).nullish(),
  safety_identifier: z.string().max(64).nullish(),
  // Refused when set (see `refuseUnsupported`): parsed so the refusal can say why.
  background: z.boolean().nullish(),
  conversation: z.unknown().optional(),
  prompt: z.unknown().optional(),
  max_tool_calls: z.unknown().optional(),
  context_management: z.unknown().optional(),
  reasoning: z.record(z.string(), z.unknown()).nullish(),
});
export type ResponsesBody = z.output<typeof ResponsesBody>;

/** A function tool in the Responses API's flat shape. */
const FunctionToolItem = z.strictObject({
  type: z.literal("function"),
  name: z.string().regex(FUNCTION_NAME, functionName),
  description: z.string().nullish(),
  parameters: JsonSchema.nullish(),
  strict: z.boolean().nullish(),
});
export type ResponsesFunctionTool = z.output<typeof FunctionToolItem>;

const InputText = z.strictObject({
  type: z.literal("input_text"),
  text: z.string(),
  // A caching hint: changes no answer.
  prompt_cache_breakpoint: z.looseObject({}).nullish(),
});
const detail = z.enum(["auto", "low", "high", "original"]).nullish();
// Parts no model here takes. They are parsed so that the refusal can say which model cannot
// take them (see `userPart`), rather than calling a well-formed request malformed.
const InputImage = z.strictObject({
  type: z.literal("input_image"),
  detail,
  image_url: z.string().nullish(),
  file_id: z.string().nullish(),
  prompt_cache_breakpoint: z.looseObject({}).nullish(),
});
const InputFile = z.strictObject({
  type: z.literal("input_file"),
  detail,
  file_data: z.string().optional(),
  file_id: z.string().nullish(),
  file_url: z.string().optional(),
  filename: z.string().optional(),
  prompt_cache_breakpoint: z.looseObject({}).nullish(),
});
const InputPart = z.discriminatedUnion("type", [InputText, InputImage, InputFile]);
type InputPart = z.output<typeof InputPart>;
const OutputPart = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("output_text"),
    text: z.string(),
    // What the earlier answer carried; it changes nothing about the next one.
    annotations: z.array(z.unknown()).nullish(),
    logprobs: z.array(z.unknown()).nullish(),
  }),
  z.strictObject({ type: z.literal("refusal"), refusal: z.string() }),
  InputText,
]);

const itemStatus = z.enum(["in_progress", "completed", "incomplete"]).nullish();
const MessageItem = z.discriminatedUnion("role", [
  z.strictObject({
    type: z.literal("message").optional(),
    role: z.enum(["user", "system", "developer"]),
    content: z.union([z.string(), z.array(InputPart)]),
    id: z.string().nullish(),
    status: itemStatus,
  }),
  z.strictObject({
    type: z.literal("message").optional(),
    role: z.literal("assistant"),
    content: z.union([z.string(), z.array(OutputPart)]),
    id: z.string().nullish(),
    status: itemStatus,
    phase: z.enum(["commentary", "final_answer"]).nullish(),
  }),
]);
const FunctionCallItem = z.strictObject({
  type: z.literal("function_call"),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
  id: z.string().nullish(),
  status: itemStatus,
});
const FunctionCallOutputItem = z.strictObject({
  type: z.literal("function_call_output"),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(InputPart)]),
  id: z.string().nullish(),
  status: itemStatus,
});
const ItemReference = z.strictObject({
  type: z.literal("item_reference").nullish(),
  id: z.string().min(1),
});

type ChatMessageIn = ChatCompletionBody["messages"][number];
type ToolCallIn = { id: string; type: "function"; function: { name: string; arguments: string } };

/** What an `item_reference` stands for: an earlier answer's text or one of its tool calls. */
export type ReferencedItem =
  | { kind: "message"; content: string }
  | { kind: "function_call"; call: ToolCallIn };

export interface ResponsesContext {
  /** The earlier record that `previous_response_id` names, already found for this key. */
  previous?: { inferenceId: string; history: Pick<TaskHistory, "request" | "response"> };
  /** Finds an item of an earlier response by its id, for this key; `param` names the item. */
  resolveItem: (id: string, param: string) => Promise<ReferencedItem>;
}

/** The canonical request of a Responses call, and what the response object echoes. */
export interface NormalizedResponses {
  input: ChatInput;
  tools: ResponsesFunctionTool[];
  /** The text format as the response echoes it (`{ type: "text" }` by default). */
  format: z.output<typeof TextFormat>;
  logprobs: boolean;
  /**
   * A refusal of the canonical request, named in this API's terms: for what the backend
   * refuses when the run starts (a schema it cannot decode to, a context it cannot hold).
   */
  renamed: (err: unknown) => unknown;
}

/**
 * Translates a Responses body into the Chat Completions body it means, then normalises that
 * with `normalizeChatRequest`, so that there is one canonical request and one set of
 * capability checks. Its refusals are renamed to the Responses field at fault (`messages.3`
 * becomes the `input` item it came from, `max_tokens` becomes `max_output_tokens`...).
 *
 * The conversation is, in order: the earlier record's messages and answer when
 * `previous_response_id` is set (so verifiers re-execute the whole conversation and check it
 * against that record), `instructions` as a system message, then `input`. Unlike OpenAI's,
 * the earlier turn's instructions stay in the conversation: they are part of the record it
 * continues.
 */
export async function normalizeResponsesRequest(
  body: ResponsesBody,
  model: ModelInfo,
  context: ResponsesContext,
): Promise<NormalizedResponses> {
  refuseUnsupported(body, model);
  if (body.input === undefined) {
    throw invalidRequest(
      "Missing required parameter: 'input'.",
      "input",
      "missing_required_parameter",
    );
  }
  const conversation = await buildMessages(body, model, context);
  const tools = (body.tools ?? []).map(readTool);
  const format = body.text?.format ?? { type: "text" as const };
  const logprobs = body.include?.includes(LOGPROBS_INCLUDE) === true || body.top_logprobs != null;
  // OpenAI's Responses API takes tool_choice "auto" or "none" and parallel_tool_calls without
  // tools (they are its defaults); Chat Completions refuses them, so they are dropped here.
  const noTools = tools.length === 0;
  const choice = body.tool_choice;
  const chat: ChatCompletionBody = {
    model: model.id,
    messages: conversation.messages,
    temperature: body.temperature,
    top_p: body.top_p,
    max_tokens: body.max_output_tokens,
    seed: body.seed,
    stream: body.stream,
    stream_options: body.stream_options,
    logprobs: logprobs || undefined,
    top_logprobs: body.top_logprobs,
    tools: noTools
      ? undefined
      : tools.map(({ type, name, description, parameters, strict }) => ({
          type,
          function: {
            name,
            ...(description != null ? { description } : {}),
            ...(parameters != null ? { parameters } : {}),
            // Function tools of the Responses API are strict unless told otherwise.
            strict: strict ?? true,
          },
        })),
    tool_choice:
      noTools && (choice === "auto" || choice === "none") ? undefined : toolChoice(choice),
    parallel_tool_calls: noTools ? undefined : body.parallel_tool_calls,
    response_format:
      format.type === "json_schema"
        ? {
            type: "json_schema",
            json_schema: {
              name: format.name,
              schema: format.schema,
              ...(format.description != null ? { description: format.description } : {}),
              ...(format.strict != null ? { strict: format.strict } : {}),
            },
          }
        : format,
  };
  const renamed = (err: unknown) => renamedError(err, conversation.where, body);
  let input: ChatInput;
  try {
    input = normalizeChatRequest(validate(ChatCompletionBody, chat), model);
  } catch (err) {
    throw renamed(err);
  }
  if (context.previous) input.previous_response = { inference_id: context.previous.inferenceId };
  return { input, tools, format, logprobs: input.logprobs === true, renamed };
}

/** Fields of the Responses API this gateway cannot honour, refused by name. */
function refuseUnsupported(body: ResponsesBody, model: ModelInfo) {
  const refuse = (message: string, param: string) => {
    throw invalidRequest(message, param, "unsupported_parameter");
  };
  if (body.background)
    refuse(
      "background responses are not supported: send the request and wait, or stream it.",
      "background",
    );
  if (body.conversation != null) {
    refuse(
      "conversation is not supported: continue a response with previous_response_id.",
      "conversation",
    );
  }
  if (body.prompt != null)
    refuse("Stored prompts are not supported: send the input itself.", "prompt");
  if (body.max_tool_calls != null) {
    refuse(
      "max_tool_calls is not supported: it limits built-in tools, and there are none here.",
      "max_tool_calls",
    );
  }
  if (body.context_management != null) {
    refuse(
      "context_management is not supported: the conversation is never compacted.",
      "context_management",
    );
  }
  for (const [key, value] of Object.entries(body.reasoning ?? {})) {
    if (value != null) {
      throw invalidRequest(
        `The model '${model.id}' does not support reasoning.`,
        `reasoning.${key}`,
        "unsupported_value",
      );
    }
  }
  const verbosity = body.text?.verbosity;
  if (verbosity != null && verbosity !== "medium") {
    throw invalidRequest(
      `The model '${model.id}' does not support verbosity '${verbosity}'.`,
      "text.verbosity",
      "unsupported_value",
    );
  }
}

function readTool(tool: unknown, i: number): ResponsesFunctionTool {
  const type = (tool as { type?: unknown } | null)?.type;
  if (typeof type === "string" && type !== "function") {
    throw invalidRequest(
      `Tools of type '${type}' are not supported: only function tools are, which the client runs.`,
      `tools.${i}.type`,
      "unsupported_value",
    );
  }
  return validateAt(FunctionToolItem, tool, `tools.${i}`);
}

function toolChoice(choice: ResponsesBody["tool_choice"]): ChatCompletionBody["tool_choice"] {
  if (choice == null || typeof choice === "string") return choice;
  if (choice.type === "function") {
    const { name } = validateAt(
      z.strictObject({ type: z.literal("function"), name: z.string().min(1) }),
      choice,
      "tool_choice",
    );
    return { type: "function", function: { name } };
  }
  throw invalidRequest(
    choice.type === "allowed_tools"
      ? "tool_choice 'allowed_tools' is not supported: send only the allowed tools in tools."
      : `tool_choice '${choice.type}' is not supported: only function tools are.`,
    "tool_choice.type",
    "unsupported_value",
  );
}

/**
 * The Chat Completions messages of the conversation, and for each the Responses field it came
 * from (for renaming refusals). Consecutive function calls join the assistant message before
 * them, as Chat Completions writes parallel calls; an earlier record's answer is never joined,
 * so the conversation still starts with exactly that record's messages.
 */
async function buildMessages(body: ResponsesBody, model: ModelInfo, context: ResponsesContext) {
  const messages: ChatMessageIn[] = [];
  const where: string[] = [];
  const add = (message: ChatMessageIn, from: string) => {
    messages.push(message);
    where.push(from);
  };
  const callIds = new Set<string>();
  if (context.previous) {
    for (const message of continuedMessages(context.previous.history)) {
      for (const call of message.tool_calls ?? []) callIds.add(call.id);
      add(chatMessageIn(message), "previous_response_id");
    }
  }
  if (body.instructions != null)
    add({ role: "system", content: body.instructions }, "instructions");
  const firstOwn = messages.length;
  if (typeof body.input === "string") {
    add({ role: "user", content: body.input }, "input");
    return { messages, where };
  }

  const addCall = (call: ToolCallIn, from: string) => {
    callIds.add(call.id);
    const last = messages.at(-1);
    if (messages.length > firstOwn && last?.role === "assistant") {
      last.tool_calls = [...(last.tool_calls ?? []), call];
      return;
    }
    add({ role: "assistant", content: "", tool_calls: [call] }, from);
  };
  for (const [i, raw] of (body.input ?? []).entries()) {
    const at = `input.${i}`;
    const item = await readItem(raw, at, model, context);
    switch (item.kind) {
      case "message":
        add(item.message, at);
        break;
      case "function_call":
        addCall(item.call, at);
        break;
      case "function_call_output":
        if (!callIds.has(item.callId)) {
          throw invalidRequest(
            `No tool call found for function call output with call_id ${item.callId}.`,
            `${at}.call_id`,
          );
        }
        add({ role: "tool", tool_call_id: item.callId, content: item.output }, at);
        break;
    }
  }
  return { messages, where };
}

type ReadItem =
  | { kind: "message"; message: ChatMessageIn }
  | { kind: "function_call"; call: ToolCallIn }
  | { kind: "function_call_output"; callId: string; output: string };

/** One `input` item, in Chat Completions terms. */
async function readItem(
  raw: unknown,
  at: string,
  model: ModelInfo,
  context: ResponsesContext,
): Promise<ReadItem> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw invalidRequest(`Invalid '${at}': must be an object.`, at);
  }
  const type = (raw as { type?: unknown }).type ?? undefined;
  if ((type === undefined || type === "message") && "role" in raw) {
    return { kind: "message", message: readMessage(validateAt(MessageItem, raw, at), at, model) };
  }
  if (type === "function_call") {
    const call = validateAt(FunctionCallItem, raw, at);
    return {
      kind: "function_call",
      call: {
        id: call.call_id,
        type: "function",
        function: { name: call.name, arguments: call.arguments },
      },
    };
  }
  if (type === "function_call_output") {
    const item = validateAt(FunctionCallOutputItem, raw, at);
    return {
      kind: "function_call_output",
      callId: item.call_id,
      output: textOf(item.output, `${at}.output`, model),
    };
  }
  if (type === undefined || type === null || type === "item_reference") {
    const { id } = validateAt(ItemReference, raw, at);
    const found = await context.resolveItem(id, `${at}.id`);
    return found.kind === "message"
      ? { kind: "message", message: { role: "assistant", content: found.content } }
      : { kind: "function_call", call: found.call };
  }
  throw invalidRequest(
    `Input items of type '${String(type)}' are not supported: send messages, function_call, function_call_output and item_reference items.`,
    `${at}.type`,
    "unsupported_value",
  );
}

function readMessage(
  item: z.output<typeof MessageItem>,
  at: string,
  model: ModelInfo,
): ChatMessageIn {
  if (item.role === "assistant") {
    const content =
      typeof item.content === "string"
        ? item.content
        : item.content.map((part) => (part.type === "refusal" ? part.refusal : part.text)).join("");
    return { role: "assistant", content };
  }
  if (item.role === "user") {
    if (typeof item.content === "string") return { role: "user", content: item.content };
    // Images and files go to normalizeChatRequest as Chat Completions parts: it is the one
    // place that decides what a model takes, and says so with the part at fault (renamed here).
    return { role: "user", content: item.content.map(userPart) };
  }
  return { role: item.role, content: textOf(item.content, `${at}.content`, model) };
}

function userPart(part: InputPart) {
  switch (part.type) {
    case "input_text":
      return { type: "text" as const, text: part.text };
    case "input_image":
      return {
        type: "image_url" as const,
        image_url: { url: part.image_url ?? part.file_id ?? "" },
      };
    case "input_file":
      return {
        type: "file" as const,
        file: {
          ...(part.file_data !== undefined ? { file_data: part.file_data } : {}),
          ...(part.file_id != null ? { file_id: part.file_id } : {}),
          ...(part.filename !== undefined ? { filename: part.filename } : {}),
        },
      };
  }
}

/**
 * Text where Chat Completions takes text only (system messages, function call outputs): an
 * image or a file there is refused in the words normalizeChatRequest uses for a user's.
 */
function textOf(content: string | readonly InputPart[], at: string, model: ModelInfo): string {
  if (typeof content === "string") return content;
  return content
    .map((part, j) => {
      if (part.type === "input_text") return part.text;
      const what = part.type === "input_image" ? "images" : "files";
      throw invalidRequest(
        `The model '${model.id}' does not support ${what}; send text parts only.`,
        `${at}.${j}`,
        "unsupported_value",
      );
    })
    .join("");
}

/** A canonical message written back as the Chat Completions message it normalises from. */
function chatMessageIn(message: ChatMessage): ChatMessageIn {
  const { content } = message;
  switch (message.role) {
    case "system":
    case "user":
      return { role: message.role, content };
    case "assistant":
      return message.tool_calls
        ? { role: "assistant", content, tool_calls: message.tool_calls }
        : { role: "assistant", content };
    case "tool":
      return { role: "tool", content, tool_call_id: message.tool_call_id ?? "" };
  }
}

/** `validate` for a value that sits at `prefix` of the body: the refusal names the whole path. */
function validateAt<T extends z.ZodType>(schema: T, value: unknown, prefix: string): z.output<T> {
  try {
    return validate(schema, value);
  } catch (err) {
    if (!(err instanceof VerityError)) throw err;
    throw err.withParam(err.param === null ? prefix : `${prefix}.${err.param}`);
  }
}

/**
 * A refusal of the translated body with the Chat Completions field renamed to the Responses
 * field the caller sent: `messages.N...` to the item that message came from, `max_tokens` to
 * `max_output_tokens`, `response_format` to `text.format`, a tool's `function.name` to its
 * `name`, `logprobs` to `include` (or `top_logprobs`). Anything else is returned as it is.
 */
function renamedError(err: unknown, where: readonly string[], body: ResponsesBody): unknown {
  if (!(err instanceof VerityError) || err.param === null) return err;
  const param = responsesParam(err.param, where, body);
  if (param === err.param) return err;
  const renamed = err.withParam(param);
  // A message may name a chat message by index without it being the param.
  return new VerityError(
    renamed.message.replace(/\bmessages\.(\d+)/g, (_, n) => where[Number(n)] ?? "input"),
    {
      status: err.status,
      type: err.type,
      code: err.code,
      param,
      headers: err.headers,
      cause: err.cause,
    },
  );
}

function responsesParam(param: string, where: readonly string[], body: ResponsesBody): string {
  const [head, ...rest] = param.split(".");
  switch (head) {
    case "messages": {
      const [index, ...tail] = rest;
      if (index === undefined) return "input";
      const from = where[Number(index)] ?? "input";
      const field = tail.join(".").replace(/^tool_call_id$/, "call_id");
      // An earlier record's messages and the instructions have no parts to point into.
      if (!from.startsWith("input.") || field === "") return from;
      return `${from}.${field}`;
    }
    case "max_tokens":
    case "max_completion_tokens":
      return ["max_output_tokens", ...rest].join(".");
    case "response_format":
      return ["text.format", ...rest.filter((part) => part !== "json_schema")].join(".");
    case "tools":
      return ["tools", ...rest.filter((part) => part !== "function")].join(".");
    case "tool_choice":
      return ["tool_choice", ...rest.filter((part) => part !== "function")].join(".");
    case "logprobs":
      return body.include?.includes(LOGPROBS_INCLUDE) ? "include" : "top_logprobs";
    default:
      return param;
  }
}
