// Regenerates the request and response vectors of what apps ask for (tools, tool messages, JSON
// output, n, logprobs, penalties, logit_bias, embedding dimensions):
//   npx tsx scripts/gen-request-vectors.ts > test/vectors/requests.json
// The tests never regenerate: they check the committed file, so a change to how any of these is
// written or hashed fails a test. docs/protocol.md §3 and §4 specify the shapes.
import {
  canonicalJson,
  type NormalizedRequest,
  type ResponseContent,
  requestHash,
  responseHash,
} from "@verity/protocol";

const weather = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Get the current weather for a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
      required: ["city", "unit"],
      additionalProperties: false,
    },
    strict: true,
  },
};

const cases: { name: string; request: NormalizedRequest; response: ResponseContent }[] = [
  {
    name: "a tool round trip: the call, its result, and the answer in words",
    request: {
      kind: "chat",
      model: "verity-ngram-1",
      messages: [
        { role: "user", content: "What is the weather in Paris?" },
        {
          role: "assistant",
          content: "",
          tool_calls: [
            {
              id: "call_0a1B2c3D4e5F6g7H8i9J0k1L",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Paris","unit":"c"}' },
            },
          ],
        },
        {
          role: "tool",
          content: '{"temperature":18}',
          tool_call_id: "call_0a1B2c3D4e5F6g7H8i9J0k1L",
        },
      ],
      temperature: 1,
      top_p: 1,
      max_tokens: 64,
      seed: 7,
      stop: [],
      tools: [weather],
      tool_choice: "auto",
    },
    response: { kind: "chat", content: "Paris is mild today.", finish_reason: "stop" },
  },
  {
    name: "a named tool choice answered with a call, without parallel calls",
    request: {
      kind: "chat",
      model: "verity-ngram-1",
      messages: [{ role: "user", content: "Weather in Oslo?" }],
      temperature: 0,
      top_p: 1,
      max_tokens: 64,
      seed: 1,
      stop: [],
      tools: [weather],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
    },
    response: {
      kind: "chat",
      content: "",
      finish_reason: "tool_calls",
      tool_calls: [
        {
          id: "call_Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2",
          type: "function",
          function: { name: "get_weather", arguments: '{"city":"oslo","unit":"f"}' },
        },
      ],
    },
  },
  {
    name: "two choices with logprobs, penalties and a logit bias",
    request: {
      kind: "chat",
      model: "verity-ngram-1",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Rivers?" },
      ],
      temperature: 0.8,
      top_p: 0.95,
      max_tokens: 2,
      seed: 4_294_967_295,
      stop: ["\n"],
      n: 2,
      frequency_penalty: 0.5,
      presence_penalty: -0.25,
      logit_bias: { "17": -100, "2048": 2.5 },
      logprobs: true,
      top_logprobs: 1,
    },
    response: {
      kind: "chat",
      content: "Rivers flow",
      finish_reason: "length",
      logprobs: {
        content: [
          {
            token: "Rivers",
            logprob: -0.5,
            top_logprobs: [{ token: "Rivers", logprob: -0.5 }],
          },
          { token: " flow", logprob: -1.5, top_logprobs: [{ token: " run", logprob: -1.25 }] },
        ],
      },
      other_choices: [
        {
          content: "Rivers run",
          finish_reason: "length",
          logprobs: {
            content: [
              {
                token: "Rivers",
                logprob: -0.5,
                top_logprobs: [{ token: "Rivers", logprob: -0.5 }],
              },
              { token: " run", logprob: -1.25, top_logprobs: [{ token: " run", logprob: -1.25 }] },
            ],
          },
        },
      ],
    },
  },
  {
    name: "JSON decoded to a strict schema",
    request: {
      kind: "chat",
      model: "verity-ngram-1",
      messages: [{ role: "user", content: "A person, as JSON." }],
      temperature: 1,
      top_p: 1,
      max_tokens: 128,
      seed: 99,
      stop: [],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "person",
          schema: {
            type: "object",
            properties: { name: { type: "string" }, age: { type: "integer" } },
            required: ["name", "age"],
            additionalProperties: false,
          },
          strict: true,
        },
      },
    },
    response: { kind: "chat", content: '{"name":"person","age":42}', finish_reason: "stop" },
  },
  {
    name: "embeddings shortened to 64 dimensions",
    request: {
      kind: "embedding",
      model: "verity-embed-1",
      input: ["rivers", "the sea"],
      dimensions: 64,
    },
    response: {
      kind: "embedding",
      embeddings: [
        [0.6, 0.8],
        [1, 0],
      ],
    },
  },
];

console.log(
  JSON.stringify(
    {
      description:
        "Verity request and response vectors for tools, JSON output, n, logprobs, penalties, logit_bias and embedding dimensions (docs/protocol.md §3 and §4). Regenerate with `npx tsx scripts/gen-request-vectors.ts > test/vectors/requests.json`.",
      cases: cases.map((c) => ({
        ...c,
        requestJson: canonicalJson(c.request),
        requestHash: requestHash(c.request),
        responseJson: canonicalJson(c.response),
        responseHash: responseHash(c.response),
      })),
    },
    null,
    2,
  ),
);
