// Times verity-ngram-1 decoding itself, in Node: tokens per second of free text, of JSON decoded
// to a schema, and of tool calls, from the same prompts and seeds. Run by the bench's decoding
// section under tsx (src/ is written for bundlers: its imports have no extensions). Prints JSON.
import { performance } from "node:perf_hooks";
import type { ChatInput } from "../../src/backends/backend";
import { chatEvents } from "../../src/backends/reference/chat-events";
import { referenceLanguageModel } from "../../src/backends/reference/reference-language-model";

const ROUNDS = Number(process.argv[2] ?? "400");

const prompts = [
  "Tell me about rivers and the mountains they come from.",
  "What is the weather like in Paris in spring?",
  "Describe a small house by the sea.",
  "Which metals conduct electricity best?",
];
const person = {
  type: "object",
  properties: {
    name: { type: "string" },
    age: { type: "integer", minimum: 0, maximum: 120 },
    email: { type: "string", format: "email" },
    tags: { type: "array", items: { type: "string" }, maxItems: 4 },
    address: {
      type: "object",
      properties: { city: { type: "string" }, zip: { type: "string" } },
      required: ["city", "zip"],
      additionalProperties: false,
    },
    role: { type: "string", enum: ["admin", "user", "guest"] },
    active: { type: "boolean" },
  },
  required: ["name", "age", "email", "tags", "address", "role", "active"],
  additionalProperties: false,
};

const base = (i: number): ChatInput => ({
  model: "verity-ngram-1",
  messages: [{ role: "user", content: prompts[i % prompts.length] ?? "" }],
  temperature: 0.8,
  top_p: 1,
  max_tokens: 256,
  seed: i,
  stop: [],
});

const modes: Record<string, (i: number) => ChatInput> = {
  text: base,
  json_schema: (i) => ({
    ...base(i),
    response_format: { type: "json_schema", json_schema: { name: "person", schema: person } },
  }),
  "tool call": (i) => ({
    ...base(i),
    tools: [{ type: "function", function: { name: "save_person", parameters: person } }],
    tool_choice: "required",
  }),
  "text + logprobs": (i) => ({ ...base(i), logprobs: true, top_logprobs: 5 }),
};

const model = referenceLanguageModel();
const results: Record<string, { tokens: number; ms: number }> = {};
// Best of three passes per mode, after a warm-up pass: the JIT, not the decoder, dominates the
// first few hundred calls.
const PASSES = 3;
for (const [name, input] of Object.entries(modes)) {
  for (let i = 0; i < ROUNDS; i++) for (const _ of chatEvents(model, input(i)));
  let best = { tokens: 0, ms: Number.POSITIVE_INFINITY };
  for (let pass = 0; pass < PASSES; pass++) {
    let tokens = 0;
    const started = performance.now();
    for (let i = 0; i < ROUNDS; i++) {
      for (const event of chatEvents(model, input(i))) {
        if (event.type === "done") tokens += event.usage.completionTokens;
      }
    }
    const ms = performance.now() - started;
    if (ms < best.ms) best = { tokens, ms };
  }
  results[name] = best;
}
console.log(JSON.stringify({ rounds: ROUNDS, results }));
