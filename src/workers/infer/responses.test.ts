import { env, exports } from "cloudflare:workers";
import { requestHash, responseHash, verifyReceipt } from "@verity/protocol";
import Ajv from "ajv";
import OpenAI from "openai";
import { privateKeyToAccount } from "viem/accounts";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestKey, gatewayFetch } from "../../../test/gateway";
import { startVerifierNetwork } from "../../../test/verifier-network";

const MODEL = "verity-ngram-1";
const nodeAddress = privateKeyToAccount(env.INFERENCE_NODE_KEY as `0x${string}`).address;
let key: string;
beforeAll(async () => {
  ({ key } = await createTestKey());
});

let network: Awaited<ReturnType<typeof startVerifierNetwork>> | undefined;
afterEach(async () => {
  if (!network) return;
  network.restore();
  network = undefined;
  // Later calls start rounds too: with no verifier registered, they wait quietly.
  await env.DB.prepare("delete from verifiers").run();
});

/** The gateway as the clients' `fetch`: they run unchanged but for baseURL and apiKey. */
const gatewayAsFetch = ((input: RequestInfo | URL, init?: RequestInit) =>
  exports.default.fetch(new Request(input as RequestInfo, init))) as typeof fetch;
const baseURL = "http://gateway.test/v1";

const WEATHER_PARAMETERS = {
  type: "object",
  properties: {
    city: { type: "string" },
    unit: { type: "string", enum: ["celsius", "fahrenheit"] },
  },
  required: ["city", "unit"],
  additionalProperties: false,
};
const weatherTool = {
  type: "function",
  name: "get_weather",
  description: "Get the current weather for a city",
  parameters: WEATHER_PARAMETERS,
  strict: true,
};
const WEATHER_QUESTION = "What is the weather like in Paris today?";

const respond = (json: Record<string, unknown>, as = key) =>
  gatewayFetch("/v1/responses", {
    method: "POST",
    key: as,
    json: { model: MODEL, input: "Tell me about rivers.", max_output_tokens: 24, seed: 7, ...json },
  });

// biome-ignore lint/suspicious/noExplicitAny: the wire shape is asserted field by field
type Json = any;

async function ok(res: Response): Promise<Json> {
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

async function refused(res: Response, status: number, param: string | null, message?: RegExp) {
  const body = (await res.json()) as { error: { message: string; param: string | null } };
  expect(res.status, JSON.stringify(body)).toBe(status);
  expect(body.error.param).toBe(param);
  if (message) expect(body.error.message).toMatch(message);
  return body.error;
}

const recordOf = async (id: string) => {
  const row = await env.DB.prepare("select * from inferences where id = ?")
    .bind(id)
    .first<Record<string, string>>();
  return {
    request: JSON.parse(row?.request ?? "null"),
    response: JSON.parse(row?.response ?? "null"),
    status: row?.status,
  };
};

/** Server-Sent Events as `{ event, data }`: the `event:` line and the parsed `data:` line. */
async function readEvents(res: Response): Promise<{ event: string | undefined; data: Json }[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const lines = block.split("\n");
      const event = lines.find((l) => l.startsWith("event: "))?.slice("event: ".length);
      const data = lines.find((l) => l.startsWith("data: "))?.slice("data: ".length) ?? "";
      return { event, data: data === "[DONE]" ? data : JSON.parse(data) };
    });
}

/** Waits for the round started by the call to decide the record. */
async function decided(id: string, timeoutMs = 15_000): Promise<string | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await recordOf(id);
    if (status !== "pending") return status;
    if (Date.now() > end) throw new Error(`the round of ${id} was not decided`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The verdicts of a record's round, as GET /v1/inferences/{id} shows them. */
async function verdictChecks(id: string, as = key) {
  const record = (await (await gatewayFetch(`/v1/inferences/${id}`, { key: as })).json()) as Json;
  return (record.verification?.verdicts ?? []).map(
    (v: Json) => v.verdict.checks as { check: string; status: string; reason: string }[],
  );
}

describe("POST /v1/responses", () => {
  it("answers a string input with a Response object, usage, the inference id header and a signed receipt", async () => {
    const res = await respond({});
    const body = await ok(res);
    const id = res.headers.get("x-verity-inference-id");
    expect(body.id).toBe(`resp_${id}`);
    expect(body).toMatchObject({
      object: "response",
      model: MODEL,
      error: null,
      max_output_tokens: 24,
      temperature: 1,
      top_p: 1,
      tool_choice: "auto",
      tools: [],
      parallel_tool_calls: true,
      text: { format: { type: "text" } },
      previous_response_id: null,
    });
    expect(["completed", "incomplete"]).toContain(body.status);
    const [message] = body.output;
    expect(message).toMatchObject({
      id: `msg_${id}`,
      type: "message",
      role: "assistant",
      content: [{ type: "output_text", annotations: [] }],
    });
    const text = message.content[0].text;
    expect(text.length).toBeGreaterThan(0);
    expect(body.output_text).toBe(text);
    const { usage } = body;
    expect(usage.input_tokens).toBeGreaterThan(0);
    expect(usage.output_tokens).toBeGreaterThan(0);
    expect(usage.output_tokens).toBeLessThanOrEqual(24);
    expect(usage.total_tokens).toBe(usage.input_tokens + usage.output_tokens);
    expect(usage.input_tokens_details).toEqual({ cached_tokens: 0 });
    expect(usage.output_tokens_details).toEqual({ reasoning_tokens: 0 });
    if (body.status === "incomplete") {
      expect(body.incomplete_details).toEqual({ reason: "max_output_tokens" });
    }

    // One canonical request: a user message, as Chat Completions would have written it.
    const record = await recordOf(id ?? "");
    expect(record.request).toEqual({
      kind: "chat",
      model: MODEL,
      messages: [{ role: "user", content: "Tell me about rivers." }],
      temperature: 1,
      top_p: 1,
      max_tokens: 24,
      seed: 7,
      stop: [],
    });
    expect(record.response.content).toBe(text);
    expect(body.verity.inference_id).toBe(id);
    expect(requestHash(record.request)).toBe(body.verity.receipt.requestHash);
    expect(responseHash(record.response)).toBe(body.verity.receipt.responseHash);
    expect(
      await verifyReceipt(body.verity.receipt, {
        request: record.request,
        response: record.response,
        trustedNodes: [nodeAddress],
      }),
    ).toMatchObject({ ok: true });
  });

  it("gives the same answer as Chat Completions for the same canonical request", async () => {
    const response = await ok(await respond({ seed: 11 }));
    const chat = await ok(
      await gatewayFetch("/v1/chat/completions", {
        method: "POST",
        key,
        json: {
          model: MODEL,
          messages: [{ role: "user", content: "Tell me about rivers." }],
          max_tokens: 24,
          seed: 11,
        },
      }),
    );
    expect(response.output_text).toBe(chat.choices[0].message.content);
    expect(response.verity.receipt.requestHash).toBe(chat.verity.receipt.requestHash);
  });

  it("writes instructions as a system message before the input", async () => {
    const body = await ok(await respond({ instructions: "Be brief." }));
    expect(body.instructions).toBe("Be brief.");
    const { request } = await recordOf(body.verity.inference_id);
    expect(request.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Tell me about rivers." },
    ]);
  });

  it("writes item input (every role, text parts, function calls and their outputs) as one canonical conversation", async () => {
    const body = await ok(
      await respond({
        tools: [weatherTool],
        input: [
          { role: "developer", content: "Answer about weather." },
          {
            type: "message",
            role: "user",
            content: [
              { type: "input_text", text: "What is the weather " },
              { type: "input_text", text: "in Paris?" },
            ],
          },
          {
            type: "message",
            role: "assistant",
            id: "msg_earlier",
            status: "completed",
            content: [{ type: "output_text", text: "Let me check.", annotations: [] }],
          },
          {
            type: "function_call",
            call_id: "call_1",
            name: "get_weather",
            arguments: '{"city":"Paris","unit":"celsius"}',
          },
          { type: "function_call_output", call_id: "call_1", output: '{"temperature_c":18}' },
        ],
      }),
    );
    const { request } = await recordOf(body.verity.inference_id);
    expect(request.messages).toEqual([
      { role: "system", content: "Answer about weather." },
      { role: "user", content: "What is the weather in Paris?" },
      {
        role: "assistant",
        content: "Let me check.",
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' },
          },
        ],
      },
      { role: "tool", content: '{"temperature_c":18}', tool_call_id: "call_1" },
    ]);
    // Function tools of the Responses API are strict by default; written so, and echoed so.
    expect(request.tools).toEqual([
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Get the current weather for a city",
          parameters: WEATHER_PARAMETERS,
          strict: true,
        },
      },
    ]);
    expect(body.tools).toEqual([weatherTool]);
    // After a tool result, verity-ngram-1 answers in words.
    expect(body.output.map((item: Json) => item.type)).toEqual(["message"]);
  });

  it("answers with a function_call item whose arguments validate, and in words once the output comes back", async () => {
    const first = await ok(
      await respond({ tools: [weatherTool], input: WEATHER_QUESTION, max_output_tokens: 64 }),
    );
    expect(first.status).toBe("completed");
    const calls = first.output.filter((item: Json) => item.type === "function_call");
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call).toMatchObject({
      id: `fc_${first.verity.inference_id}_0`,
      status: "completed",
      name: "get_weather",
      call_id: expect.stringMatching(/^call_/),
    });
    const validate = new Ajv({ strict: false }).compile(WEATHER_PARAMETERS);
    expect(validate(JSON.parse(call.arguments)), JSON.stringify(validate.errors)).toBe(true);
    expect(first.output_text).toBe("");

    // The client runs the function and sends the call and its output back, as the SDKs do.
    const { id: _, status: __, ...callItem } = call;
    const second = await ok(
      await respond({
        tools: [weatherTool],
        max_output_tokens: 32,
        input: [
          { role: "user", content: WEATHER_QUESTION },
          callItem,
          { type: "function_call_output", call_id: call.call_id, output: '{"temperature_c":18}' },
        ],
      }),
    );
    expect(second.output.map((item: Json) => item.type)).toEqual(["message"]);
    expect(second.output_text.length).toBeGreaterThan(0);
    const { request } = await recordOf(second.verity.inference_id);
    expect(request.messages[1].tool_calls[0].id).toBe(call.call_id);
    expect(request.messages[2]).toEqual({
      role: "tool",
      content: '{"temperature_c":18}',
      tool_call_id: call.call_id,
    });
  });

  it("honours tool_choice naming a function and parallel_tool_calls false in the canonical request", async () => {
    const body = await ok(
      await respond({
        tools: [weatherTool],
        tool_choice: { type: "function", name: "get_weather" },
        parallel_tool_calls: false,
        max_output_tokens: 64,
      }),
    );
    expect(body.output[0].type).toBe("function_call");
    expect(body.tool_choice).toEqual({ type: "function", name: "get_weather" });
    expect(body.parallel_tool_calls).toBe(false);
    const { request } = await recordOf(body.verity.inference_id);
    expect(request.tool_choice).toEqual({ type: "function", function: { name: "get_weather" } });
    expect(request.parallel_tool_calls).toBe(false);
  });

  it("returns JSON that parses and validates against text.format json_schema", async () => {
    const schema = {
      type: "object",
      properties: {
        city: { type: "string" },
        temperature: { type: "number" },
        conditions: { type: "string", enum: ["sunny", "cloudy", "rainy"] },
      },
      required: ["city", "temperature", "conditions"],
      additionalProperties: false,
    };
    const format = { type: "json_schema", name: "weather", schema, strict: true };
    const body = await ok(
      await respond({ input: WEATHER_QUESTION, text: { format }, max_output_tokens: 128 }),
    );
    expect(body.status).toBe("completed");
    expect(body.text.format).toEqual(format);
    const validate = new Ajv({ strict: false }).compile(schema);
    const parsed = JSON.parse(body.output_text);
    expect(validate(parsed), JSON.stringify(validate.errors)).toBe(true);
    const { request } = await recordOf(body.verity.inference_id);
    expect(request.response_format).toEqual({
      type: "json_schema",
      json_schema: { name: "weather", schema, strict: true },
    });
  });

  it("reports each token's logprob and alternatives when include asks for them", async () => {
    const body = await ok(
      await respond({
        include: ["message.output_text.logprobs"],
        top_logprobs: 2,
        max_output_tokens: 8,
      }),
    );
    const part = body.output[0].content[0];
    expect(part.logprobs.length).toBeGreaterThan(0);
    expect(part.logprobs.map((l: Json) => l.token).join("")).toBe(part.text);
    for (const entry of part.logprobs) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.top_logprobs.length).toBeLessThanOrEqual(2);
      expect(entry.bytes).toEqual([...new TextEncoder().encode(entry.token)]);
    }
    expect(body.top_logprobs).toBe(2);
    const { request } = await recordOf(body.verity.inference_id);
    expect(request).toMatchObject({ logprobs: true, top_logprobs: 2 });
  });

  it("accepts and ignores the fields that change no answer, and takes seed as a Verity extension", async () => {
    const body = await ok(
      await respond({
        store: false,
        metadata: { purpose: "test" },
        user: "user-1",
        service_tier: "auto",
        truncation: "auto",
        include: ["reasoning.encrypted_content"],
        prompt_cache_key: "k",
        safety_identifier: "s",
        reasoning: { effort: null },
        text: { format: { type: "text" }, verbosity: "medium" },
        tool_choice: "auto",
        parallel_tool_calls: true,
      }),
    );
    expect(body.metadata).toEqual({ purpose: "test" });
    expect(body.user).toBe("user-1");
    const { request } = await recordOf(body.verity.inference_id);
    expect(request).toEqual({
      kind: "chat",
      model: MODEL,
      messages: [{ role: "user", content: "Tell me about rivers." }],
      temperature: 1,
      top_p: 1,
      max_tokens: 24,
      seed: 7,
      stop: [],
    });
  });

  it("draws a seed when none is sent and records it, so the call can be replayed", async () => {
    const body = await ok(await respond({ seed: undefined }));
    const { request } = await recordOf(body.verity.inference_id);
    expect(Number.isInteger(request.seed)).toBe(true);
    const replay = await ok(await respond({ seed: request.seed }));
    expect(replay.output_text).toBe(body.output_text);
  });
});

describe("POST /v1/responses refusals, in OpenAI's shape with the field at fault", () => {
  it("refuses unknown fields", async () => {
    const error = await refused(await respond({ temprature: 1 }), 400, "temprature");
    expect(error).toMatchObject({ code: "unknown_parameter" });
  });

  it("refuses more than 1,024 input items before looking any reference up", async () => {
    const flood = Array.from({ length: 1_025 }, () => ({ type: "item_reference", id: "msg_x" }));
    const res = await respond({ input: flood });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error.param).toBe("input");
  });

  it("names the Responses field in a refusal's message without garbling the rest", async () => {
    const body = (await (await respond({ input: [{ foo: 1 }] })).json()) as Json;
    expect(body.error.message).not.toMatch(/Invalinput/);
    expect(body.error.message).toMatch(/^Invalid/);
  });

  it("refuses images and files as the model's, naming the part", async () => {
    await refused(
      await respond({
        input: [
          {
            role: "user",
            content: [
              { type: "input_text", text: "What is this?" },
              { type: "input_image", image_url: "https://example.com/a.png", detail: "auto" },
            ],
          },
        ],
      }),
      400,
      "input.0.content.1",
      /The model 'verity-ngram-1' does not support images/,
    );
    await refused(
      await respond({
        input: [{ role: "user", content: [{ type: "input_file", file_id: "file-1" }] }],
      }),
      400,
      "input.0.content.0",
      /does not support files/,
    );
    await refused(
      await respond({
        input: [
          { role: "user", content: "Weather?" },
          { type: "function_call", call_id: "c", name: "get_weather", arguments: "{}" },
          {
            type: "function_call_output",
            call_id: "c",
            output: [
              { type: "input_image", image_url: "https://example.com/a.png", detail: "auto" },
            ],
          },
        ],
        tools: [weatherTool],
      }),
      400,
      "input.2.output.0",
      /does not support images/,
    );
  });

  it("refuses tools other than functions, and tool choices of them", async () => {
    await refused(
      await respond({ tools: [weatherTool, { type: "web_search" }] }),
      400,
      "tools.1.type",
      /'web_search' are not supported/,
    );
    await refused(
      await respond({ tools: [weatherTool], tool_choice: { type: "file_search" } }),
      400,
      "tool_choice.type",
    );
    await refused(
      await respond({ tools: [{ ...weatherTool, name: "bad name" }] }),
      400,
      "tools.0.name",
    );
    await refused(
      await respond({ tools: [weatherTool], tool_choice: { type: "function", name: "nope" } }),
      400,
      "tool_choice.name",
      /nope/,
    );
  });

  it("refuses input items it does not take, and outputs of calls never made", async () => {
    await refused(
      await respond({ input: [{ type: "reasoning", id: "rs_1", summary: [] }] }),
      400,
      "input.0.type",
      /'reasoning' are not supported/,
    );
    await refused(
      await respond({
        input: [
          { role: "user", content: "hi" },
          { type: "function_call_output", call_id: "call_x", output: "{}" },
        ],
      }),
      400,
      "input.1.call_id",
      /No tool call found for function call output with call_id call_x/,
    );
    await refused(await respond({ input: undefined }), 400, "input");
    await refused(
      await respond({ input: [{ role: "user", content: "hi", extra: 1 }] }),
      400,
      "input.0.extra",
    );
  });

  it("names the Responses field when a canonical limit is exceeded", async () => {
    await refused(
      await respond({ max_output_tokens: 1_000_000 }),
      400,
      "max_output_tokens",
      /^max_output_tokens is too large/,
    );
    await refused(
      await respond({ text: { format: { type: "json_schema", name: "bad name", schema: {} } } }),
      400,
      "text.format.name",
    );
    // Refused by the model's backend when the run starts: still named in this API's terms.
    const patterned = {
      type: "object",
      properties: { code: { type: "string", pattern: "^[A-Z]+$" } },
      required: ["code"],
      additionalProperties: false,
    };
    await refused(
      await respond({ text: { format: { type: "json_schema", name: "code", schema: patterned } } }),
      400,
      "text.format.schema.properties.code.pattern",
      /^Invalid schema for text\.format\.schema\.properties\.code\.pattern/,
    );
    await refused(
      await respond({ tools: [{ ...weatherTool, parameters: patterned }] }),
      400,
      "tools.0.parameters.properties.code.pattern",
    );
    await refused(await respond({ tool_choice: "required" }), 400, "tool_choice");
    await refused(
      await respond({ stream_options: { include_obfuscation: false } }),
      400,
      "stream_options",
    );
  });

  it("refuses what it cannot honour by name: reasoning, verbosity, background, conversation, stored prompts", async () => {
    await refused(
      await respond({ reasoning: { effort: "high" } }),
      400,
      "reasoning.effort",
      /reasoning/,
    );
    await refused(await respond({ text: { verbosity: "low" } }), 400, "text.verbosity");
    await refused(await respond({ background: true }), 400, "background");
    await refused(await respond({ conversation: "conv_1" }), 400, "conversation");
    await refused(await respond({ prompt: { id: "pmpt_1" } }), 400, "prompt");
    await refused(await respond({ max_tool_calls: 2 }), 400, "max_tool_calls");
  });

  it("refuses an embedding model", async () => {
    await refused(await respond({ model: "verity-embed-1" }), 400, "model");
  });
});

describe("POST /v1/responses with stream: true", () => {
  it("streams the typed events in order, numbered from 0, named by their event line, without [DONE]", async () => {
    const res = await respond({ stream: true, seed: 5, max_output_tokens: 12 });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const id = res.headers.get("x-verity-inference-id");
    const events = await readEvents(res);
    expect(events.every((e) => e.data !== "[DONE]")).toBe(true);
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.every((e) => e.event === e.data.type)).toBe(true);
    const types = events.map((e) => e.data.type);
    const deltas = types.filter((t) => t === "response.output_text.delta").length;
    expect(deltas).toBeGreaterThan(1);
    const last = types.at(-1) as string;
    expect(["response.completed", "response.incomplete"]).toContain(last);
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...Array(deltas).fill("response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      last,
    ]);
    expect(events[0]?.data.response).toMatchObject({
      id: `resp_${id}`,
      status: "in_progress",
      output: [],
    });
    const text = events
      .filter((e) => e.data.type === "response.output_text.delta")
      .map((e) => e.data.delta)
      .join("");
    const final = events.at(-1)?.data.response;
    expect(final.output_text).toBe(text);
    expect(final.verity.inference_id).toBe(id);
    expect(events.slice(0, -1).some((e) => "verity" in (e.data.response ?? {}))).toBe(false);

    // The same answer as the non-streamed call for the same seed.
    const plain = await ok(await respond({ seed: 5, max_output_tokens: 12 }));
    expect(plain.output_text).toBe(text);
    expect(final.usage).toEqual(plain.usage);
    expect(final.verity.receipt.responseHash).toBe(plain.verity.receipt.responseHash);
    const { response } = await recordOf(id ?? "");
    expect(responseHash(response)).toBe(final.verity.receipt.responseHash);
  });

  it("streams a function call as its item, argument deltas, the arguments and the item done", async () => {
    const res = await respond({
      stream: true,
      tools: [weatherTool],
      input: WEATHER_QUESTION,
      max_output_tokens: 64,
    });
    const events = (await readEvents(res)).map((e) => e.data);
    const types = events.map((e) => e.type);
    const deltas = types.filter((t) => t === "response.function_call_arguments.delta").length;
    expect(deltas).toBeGreaterThan(0);
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      ...Array(deltas).fill("response.function_call_arguments.delta"),
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const added = events[2];
    expect(added.item).toMatchObject({
      type: "function_call",
      name: "get_weather",
      arguments: "",
      status: "in_progress",
    });
    const args = events
      .filter((e) => e.type === "response.function_call_arguments.delta")
      .map((e) => e.delta)
      .join("");
    const done = events.find((e) => e.type === "response.function_call_arguments.done");
    expect(done).toMatchObject({ item_id: added.item.id, arguments: args, name: "get_weather" });
    const final = events.at(-1).response;
    expect(final.output).toEqual([{ ...added.item, arguments: args, status: "completed" }]);
    JSON.parse(args);
  });
});

describe("POST /v1/responses failing mid-stream", () => {
  // The record cannot be stored (a trigger refuses it), so the stream fails after its text:
  // no receipt may be handed out for a record that was not stored.
  const refuseRecords = () =>
    env.DB.prepare(
      "create trigger if not exists refuse_responses_test before insert on inferences when new.user = 'refuse-me' begin select raise(abort, 'refused by test'); end",
    ).run();
  afterEach(async () => {
    await env.DB.prepare("drop trigger if exists refuse_responses_test").run();
  });

  it("sends response.failed with the error, then an error event in OpenAI's shape, and no completion", async () => {
    await refuseRecords();
    const res = await respond({ stream: true, user: "refuse-me", max_output_tokens: 8 });
    expect(res.status).toBe(200);
    const events = await readEvents(res);
    const types = events.map((e) => e.data.type);
    expect(types).not.toContain("response.completed");
    expect(types.slice(-2)).toEqual(["response.failed", "error"]);
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    const failed = events.at(-2)?.data.response;
    expect(failed).toMatchObject({ status: "failed", error: { code: "record_unavailable" } });
    expect("verity" in failed).toBe(false);
    expect(events.at(-1)).toEqual({
      event: "error",
      data: {
        type: "error",
        sequence_number: events.length - 1,
        code: "record_unavailable",
        message: expect.stringMatching(/could not be recorded/),
        param: null,
      },
    });
  });

  it("makes the openai client throw", async () => {
    await refuseRecords();
    const client = new OpenAI({ apiKey: key, baseURL, fetch: gatewayAsFetch, maxRetries: 0 });
    const stream = await client.responses.create({
      model: MODEL,
      input: "Tell me about rivers.",
      max_output_tokens: 8,
      stream: true,
      user: "refuse-me",
    });
    const error = await (async () => {
      for await (const _ of stream);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toMatch(
      /could not be recorded/,
    );
  });
});

describe("previous_response_id", () => {
  it("continues the key's earlier response: the canonical request holds its turns, then the new input, and names it", async () => {
    const first = await ok(
      await respond({ instructions: "Be brief.", input: "Tell me about rivers." }),
    );
    const second = await ok(
      await respond({ previous_response_id: first.id, input: "And about the sea?" }),
    );
    expect(second.previous_response_id).toBe(first.id);
    const { request } = await recordOf(second.verity.inference_id);
    expect(request.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Tell me about rivers." },
      { role: "assistant", content: first.output_text },
      { role: "user", content: "And about the sea?" },
    ]);
    expect(request.previous_response).toEqual({ inference_id: first.verity.inference_id });
  });

  it("continues a function call: the earlier call is an assistant message its output can answer", async () => {
    const first = await ok(
      await respond({ tools: [weatherTool], input: WEATHER_QUESTION, max_output_tokens: 64 }),
    );
    const call = first.output[0];
    const second = await ok(
      await respond({
        previous_response_id: first.id,
        tools: [weatherTool],
        input: [
          { type: "function_call_output", call_id: call.call_id, output: '{"temperature_c":18}' },
        ],
      }),
    );
    expect(second.output[0].type).toBe("message");
    const { request } = await recordOf(second.verity.inference_id);
    expect(request.messages.slice(1)).toEqual([
      {
        role: "assistant",
        content: "",
        tool_calls: [
          {
            id: call.call_id,
            type: "function",
            function: { name: "get_weather", arguments: call.arguments },
          },
        ],
      },
      { role: "tool", content: '{"temperature_c":18}', tool_call_id: call.call_id },
    ]);
  });

  it("answers 404 for another key's response and for an unknown id, and 400 for an embedding", async () => {
    const first = await ok(await respond({}));
    const { key: other } = await createTestKey();
    await refused(
      await respond({ previous_response_id: first.id }, other),
      404,
      "previous_response_id",
    );
    await refused(
      await respond({ previous_response_id: "resp_01a229b5-e25d-7e96-9fe7-a82c48f2fd9f" }),
      404,
      "previous_response_id",
    );
    await refused(await respond({ previous_response_id: "nonsense" }), 404, "previous_response_id");
    const embedding = await gatewayFetch("/v1/embeddings", {
      method: "POST",
      key,
      json: { model: "verity-embed-1", input: "rivers" },
    });
    const embeddingId = embedding.headers.get("x-verity-inference-id");
    await embedding.text();
    await refused(
      await respond({ previous_response_id: `resp_${embeddingId}` }),
      400,
      "previous_response_id",
      /embedding/,
    );
  });

  it("resolves item references to the key's earlier output items, and answers 404 for another key's", async () => {
    const first = await ok(await respond({}));
    const second = await ok(
      await respond({
        input: [
          { role: "user", content: "Tell me about rivers." },
          { type: "item_reference", id: first.output[0].id },
          { role: "user", content: "And the sea?" },
        ],
      }),
    );
    const { request } = await recordOf(second.verity.inference_id);
    expect(request.messages[1]).toEqual({ role: "assistant", content: first.output_text });
    const { key: other } = await createTestKey();
    await refused(
      await respond(
        { input: [{ role: "user", content: "hi" }, { id: first.output[0].id }] },
        other,
      ),
      404,
      "input.1.id",
    );
  });
});

describe("verification of Responses calls", () => {
  it("a Responses call's record ends verified when its round re-executes it", async () => {
    network = await startVerifierNetwork(["", "", ""]);
    const body = await ok(await respond({ instructions: "Be brief.", seed: 3 }));
    expect(await decided(body.verity.inference_id)).toBe("verified");
    const checks = await verdictChecks(body.verity.inference_id);
    expect(checks.length).toBeGreaterThanOrEqual(2);
    // No earlier response: the verdicts list the three checks, history@1 does not apply.
    expect(checks[0].map((c: Json) => c.check)).toEqual([
      "receipt-integrity@1",
      "rules@1",
      "re-execution@1",
    ]);
  });

  it("a follow-up of an untampered response ends verified, its history checked", async () => {
    network = await startVerifierNetwork(["", "", ""]);
    const first = await ok(await respond({ seed: 1 }));
    expect(await decided(first.verity.inference_id)).toBe("verified");
    const second = await ok(
      await respond({ previous_response_id: first.id, input: "And the sea?" }),
    );
    expect(await decided(second.verity.inference_id)).toBe("verified");
    const checks = await verdictChecks(second.verity.inference_id);
    expect(checks.length).toBeGreaterThanOrEqual(2);
    for (const verdict of checks) {
      expect(verdict).toEqual([
        { check: "receipt-integrity@1", status: "pass", reason: "ok" },
        { check: "rules@1", status: "pass", reason: "ok" },
        { check: "history@1", status: "pass", reason: "ok" },
        { check: "re-execution@1", status: "pass", reason: "response_hash_matched" },
      ]);
    }
  });

  it("a follow-up of an earlier response tampered in D1 ends rejected: its history no longer holds", async () => {
    network = await startVerifierNetwork(["", "", ""]);
    const first = await ok(await respond({ seed: 2 }));
    await decided(first.verity.inference_id);
    // A lying gateway rewrites the earlier answer after signing it.
    await env.DB.prepare(
      "update inferences set response = json_set(response, '$.content', ?) where id = ?",
    )
      .bind("Something the model never said.", first.verity.inference_id)
      .run();
    const second = await ok(
      await respond({ previous_response_id: first.id, input: "And the sea?" }),
    );
    const { request } = await recordOf(second.verity.inference_id);
    expect(request.messages[1]).toEqual({
      role: "assistant",
      content: "Something the model never said.",
    });
    expect(await decided(second.verity.inference_id)).toBe("rejected");
    const checks = await verdictChecks(second.verity.inference_id);
    expect(checks.length).toBeGreaterThanOrEqual(2);
    for (const verdict of checks) {
      expect(verdict).toContainEqual({
        check: "history@1",
        status: "fail",
        reason: "history_response_hash_mismatch",
      });
    }
  });
});
