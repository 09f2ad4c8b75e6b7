// Test support: JSON Schemas exactly as the clients people use produce them from zod (the
// `openai` client's zodResponseFormat/zodFunction, zod's own z.toJSONSchema, the Vercel AI
// SDK's zodSchema and LangChain's toJsonSchema), for the JSON-decoding tests.
// `ai` re-exports zodSchema from @ai-sdk/provider-utils (pinned to an exact version there);
// importing it directly saves loading all of `ai`, about 2 s in workerd.
import { zodSchema } from "@ai-sdk/provider-utils";
import { toJsonSchema } from "@langchain/core/utils/json_schema";
import { zodFunction, zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";

export interface SchemaFixture {
  name: string;
  /** draft-07 or 2020-12, to pick the validator. */
  draft: "07" | "2020";
  schema: Record<string, unknown>;
}

/** Everything the OpenAI strict converter accepts: all properties required, nullables. */
const Cat = z.object({
  name: z.string().min(1).max(20).describe("the cat's name"),
  age: z.number().int().min(0).max(30),
  weight: z.number().positive(),
  kind: z.enum(["tabby", "siamese", "calico"]),
  tags: z.array(z.string()).max(3),
  born: z.iso.datetime(),
  vet: z.iso.date(),
  owner: z.email(),
  id: z.uuid(),
  nickname: z.string().nullable(),
  literal: z.literal("cat"),
  either: z.union([z.string(), z.number()]),
  indoor: z.boolean(),
  collar: z.discriminatedUnion("type", [
    z.object({ type: z.literal("bell"), loud: z.boolean() }),
    z.object({ type: z.literal("tag"), text: z.string().max(12) }),
  ]),
  toy: z.object({ label: z.string(), count: z.int().min(1).max(5) }).nullable(),
  maybe: z.string().optional().nullable(),
});

/** What only the non-strict converters accept: optional keys, tuples, records, defaults. */
const Loose = Cat.extend({
  optional: z.string().optional(),
  pair: z.tuple([z.string(), z.int()]),
  scores: z.record(z.string(), z.number()),
  grades: z.record(z.enum(["math", "art"]), z.int().min(1).max(6)),
  level: z.number().default(3),
  half: z.number().multipleOf(0.5).min(0).max(10),
  loose: z.looseObject({ a: z.string() }),
  mixed: z.literal(["a", 2, true]),
  list: z.array(z.int()).length(2),
  code: z.string().length(4),
  guid: z.guid(),
  int32: z.int32(),
  nothing: z.null(),
  anything: z.unknown(),
});

type Tree = { value: string; children: Tree[] };
const Tree: z.ZodType<Tree> = z.object({
  value: z.string(),
  get children() {
    return z.array(Tree);
  },
});
const Shared = z.object({ street: z.string(), city: z.string() }).meta({ id: "Address" });
const WithRefs = z.object({ home: Shared, work: Shared.optional() });

/** The fixtures, built when called (zod's converters are not free). */
export function converterSchemas(): SchemaFixture[] {
  const openai = (name: string, schema: z.ZodType) =>
    zodResponseFormat(schema, name).json_schema.schema as Record<string, unknown>;
  return [
    { name: "openai zodResponseFormat", draft: "07", schema: openai("cat", Cat) },
    { name: "openai recursive ($ref '#')", draft: "07", schema: openai("tree", Tree) },
    {
      name: "openai zodFunction",
      draft: "07",
      schema: zodFunction({ name: "get_cat", parameters: Cat }).function.parameters as Record<
        string,
        unknown
      >,
    },
    { name: "z.toJSONSchema", draft: "2020", schema: z.toJSONSchema(Loose) },
    {
      name: "z.toJSONSchema draft-7 input",
      draft: "07",
      schema: z.toJSONSchema(Loose, { target: "draft-7", io: "input" }),
    },
    { name: "z.toJSONSchema recursive", draft: "2020", schema: z.toJSONSchema(Tree) },
    {
      name: "z.toJSONSchema $defs",
      draft: "2020",
      schema: z.toJSONSchema(WithRefs, { reused: "ref" }),
    },
    {
      name: "AI SDK zodSchema",
      draft: "07",
      schema: zodSchema(Loose).jsonSchema as Record<string, unknown>,
    },
    {
      name: "AI SDK zodSchema with references",
      draft: "07",
      schema: zodSchema(WithRefs, { useReferences: true }).jsonSchema as Record<string, unknown>,
    },
    {
      name: "LangChain toJsonSchema",
      draft: "2020",
      schema: toJsonSchema(Loose) as Record<string, unknown>,
    },
  ];
}
