import { invalidRequest } from "../../errors";
import type { ChatInput } from "../backend";
import { ANY_OBJECT } from "./decode-json";
import { compileSchema, type SchemaNode } from "./json-schema-subset";

/** The schemas a request decodes to, compiled once: each tool's parameters, and the format. */
export interface RequestSchemas {
  tools: Map<string, SchemaNode>;
  /** Undefined for free text. */
  format: SchemaNode | undefined;
}

// A function declared without parameters takes none, as in OpenAI's API.
const NO_PARAMETERS = { type: "object", properties: {}, additionalProperties: false };

/**
 * Compiles every schema of the request, before anything is generated: a schema outside what
 * verity-ngram-1 can decode to is a 400 naming the keyword at fault, whichever tool is called.
 */
export function compileRequestSchemas(input: ChatInput): RequestSchemas {
  const tools = new Map<string, SchemaNode>();
  input.tools?.forEach((tool, i) => {
    const param = `tools.${i}.function.parameters`;
    tools.set(tool.function.name, compile(tool.function.parameters ?? NO_PARAMETERS, param));
  });
  const format = input.response_format;
  if (!format) return { tools, format: undefined };
  if (format.type === "json_object") return { tools, format: ANY_OBJECT };
  const schema = format.json_schema.schema ?? {};
  return { tools, format: compile(schema, "response_format.json_schema.schema") };
}

function compile(schema: unknown, param: string): SchemaNode {
  const result = compileSchema(schema);
  if (result.ok) return result.node;
  const where = result.path ? `${param}.${result.path}` : param;
  throw invalidRequest(`Invalid schema for ${where}: ${result.reason}`, where, "invalid_schema");
}
