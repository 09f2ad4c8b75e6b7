import { z } from "zod";
import type { ChatInput, ModelInfo } from "../../backends/backend";
import { invalidRequest, VerityError } from "../../errors";
import { ChatCompletionBody, normalizeChatRequest } from "./chat-request";
import { validate } from "./json-body";
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

/** OpenAI's default for this API (Chat Completions' is the model's own). */
export const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

/**
 * The body of the legacy `POST /v1/completions`: every field OpenAI's API takes. `prompt` is
 * read by `promptOf`, so that token ids and several prompts are refused with a reason;
 * `suffix`, `best_of` above 1 and `echo` with `logprobs` are refused (see
 * `normalizeCompletionRequest`); unknown fields are refused.
 */
export const CompletionBody = z.strictObject({
  model: z.string().min(1),
  prompt: z.union([z.string(), z.array(z.unknown()).min(1)]),
  suffix: z.string().nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: Temperature,
  top_p: TopP,
  n: ChoiceCount,
  stream: z.boolean().nullish(),
  stream_options: StreamOptions,
  stop: Stop,
  seed: Seed,
  /** In this API, how many alternatives to report per token (0 to 5): null for no logprobs. */
  logprobs: z.number().int().min(0).max(5).nullish(),
  echo: z.boolean().nullish(),
  frequency_penalty: Penalty,
  presence_penalty: Penalty,
  logit_bias: LogitBias,
  best_of: z.number().int().min(1).max(20).nullish(),
  user: z.string().max(256).optional(),
});
export type CompletionBody = z.output<typeof CompletionBody>;

/** The one prompt of a request: a string, or an array holding one string. */
function promptOf(prompt: CompletionBody["prompt"]): string {
  if (typeof prompt === "string") return prompt;
  if (prompt.every((p) => typeof p === "string")) {
    if (prompt.length === 1) return prompt[0] as string;
    throw invalidRequest(
      `prompt holds ${prompt.length} prompts: send one per request, as each is an inference with its own receipt.`,
      "prompt",
      "unsupported_value",
    );
  }
  throw invalidRequest(
    "prompt as token ids is not supported: send the prompt as text, since token ids are a model's own.",
    "prompt",
    "unsupported_value",
  );
}

/**
 * Normalises a legacy completion request into the canonical chat request: the prompt is **one
 * user message**, which is what verifiers re-execute; `logprobs` k becomes `logprobs: true`
 * with `top_logprobs: k`; `max_tokens` defaults to 16. `echo` changes only how the answer is
 * written (the prompt before the text), not the canonical request or response, so it is not in
 * the hash. Refusals name this API's fields.
 */
export function normalizeCompletionRequest(
  body: CompletionBody,
  model: ModelInfo,
): { input: ChatInput; prompt: string } {
  const prompt = promptOf(body.prompt);
  if (body.suffix) {
    throw invalidRequest(
      `The model '${model.id}' does not support suffix: it completes text after the prompt, it does not insert text before a suffix.`,
      "suffix",
      "unsupported_value",
    );
  }
  if (body.best_of != null && body.best_of !== 1) {
    throw invalidRequest(
      "best_of must be 1: the answer given is the one generated and verified; ask for n completions to choose among them yourself.",
      "best_of",
      "unsupported_value",
    );
  }
  if (body.echo && body.logprobs != null) {
    throw invalidRequest(
      "echo with logprobs is not supported: the model reports the logprobs of the tokens it generates, not of the prompt.",
      "echo",
      "unsupported_value",
    );
  }
  const chat: ChatCompletionBody = {
    model: model.id,
    messages: [{ role: "user", content: prompt }],
    max_tokens: body.max_tokens ?? COMPLETIONS_DEFAULT_MAX_TOKENS,
    temperature: body.temperature,
    top_p: body.top_p,
    n: body.n,
    stream: body.stream,
    stream_options: body.stream_options,
    stop: body.stop,
    seed: body.seed,
    logprobs: body.logprobs != null ? true : undefined,
    top_logprobs: body.logprobs || undefined,
    frequency_penalty: body.frequency_penalty,
    presence_penalty: body.presence_penalty,
    logit_bias: body.logit_bias,
  };
  try {
    return { input: normalizeChatRequest(validate(ChatCompletionBody, chat), model), prompt };
  } catch (err) {
    throw completionsError(err);
  }
}

/**
 * A refusal of the canonical request in this API's terms: the prompt where Chat Completions
 * says messages, `logprobs` where it says `top_logprobs`. Also for what the backend refuses
 * when the run starts.
 */
export function completionsError(err: unknown): unknown {
  if (!(err instanceof VerityError) || err.param === null) return err;
  const param = err.param.startsWith("messages")
    ? "prompt"
    : err.param === "top_logprobs"
      ? "logprobs"
      : err.param;
  return param === err.param ? err : err.withParam(param);
}
