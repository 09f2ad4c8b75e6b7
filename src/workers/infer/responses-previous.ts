import { InferenceId } from "@verity/protocol/inference-id";
import { NormalizedChatRequest } from "@verity/protocol/request";
import { ChatResponseContent } from "@verity/protocol/response";
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { inferences } from "../../db/schema";
import { invalidRequest, notFound, refusal } from "../../errors";
import type { GatewayEnv } from "./gateway-env";
import type { ReferencedItem, ResponsesContext } from "./responses-request";

/** A response's id is its inference's: `resp_<inference id>`. */
export const responseId = (inferenceId: string) => `resp_${inferenceId}`;
/** The one message item of a response. */
export const messageItemId = (inferenceId: string) => `msg_${inferenceId}`;
/** The `index`th function call item of a response. */
export const functionCallItemId = (inferenceId: string, index: number) =>
  `fc_${inferenceId}_${index}`;

const RESPONSE_ID = /^resp_(.+)$/;
const ITEM_ID = /^(msg|fc)_([0-9a-f-]{36})(?:_(\d+))?$/;

/** A chat record of this API key, parsed as stored; null when there is none. */
async function ownChatRecord(c: Context<GatewayEnv>, id: string) {
  if (!InferenceId.safeParse(id).success) return null;
  const [row] = await drizzle(c.env.DB)
    .select({ kind: inferences.kind, request: inferences.request, response: inferences.response })
    .from(inferences)
    .where(and(eq(inferences.id, id), eq(inferences.apiKeyId, c.get("apiKey").id)))
    .limit(1);
  return row ?? null;
}

/**
 * The earlier record `previous_response_id` names, for the key that made it. Another key's or
 * an unknown id is a 404, like a missing one, so ids cannot be probed; an embedding is a 400.
 * A record that no longer parses as a chat record cannot be continued (409).
 */
export async function previousResponse(
  c: Context<GatewayEnv>,
  id: string,
): Promise<NonNullable<ResponsesContext["previous"]>> {
  const param = "previous_response_id";
  const inferenceId = RESPONSE_ID.exec(id)?.[1] ?? "";
  const row = await ownChatRecord(c, inferenceId);
  if (!row) {
    throw notFound(
      `Previous response with id '${id}' not found.`,
      "previous_response_not_found",
      param,
    );
  }
  if (row.kind !== "chat") {
    throw invalidRequest(
      `Previous response '${id}' is an embedding, not a response: only chat and Responses calls can be continued.`,
      param,
    );
  }
  const request = NormalizedChatRequest.safeParse(row.request);
  const response = ChatResponseContent.safeParse(row.response);
  if (!request.success || !response.success) {
    throw refusal(
      409,
      "previous_response_unreadable",
      `Previous response '${id}' cannot be continued: its record cannot be read.`,
      { param },
    );
  }
  return { inferenceId, history: { request: request.data, response: response.data } };
}

/**
 * What an `item_reference` names: the text (`msg_<id>`) or a function call (`fc_<id>_<n>`) of
 * an earlier response of this key, from its record. The item is copied into the conversation
 * as written; unlike `previous_response_id`, the canonical request does not name the record
 * it came from, so verifiers re-execute the conversation as written without checking it
 * against that record.
 */
export function itemResolver(c: Context<GatewayEnv>): ResponsesContext["resolveItem"] {
  // One read per earlier response, however many of its items are referenced: D1 allows a
  // Worker invocation a bounded number of queries, and items are capped at 1,024.
  const records = new Map<string, ReturnType<typeof ownChatRecord>>();
  return async (id, param) => {
    const [, kind, inferenceId = "", index] = ITEM_ID.exec(id) ?? [];
    let read = records.get(inferenceId);
    if (!read) {
      read = ownChatRecord(c, inferenceId);
      records.set(inferenceId, read);
    }
    const row = await read;
    const response = ChatResponseContent.safeParse(row?.response);
    const missing = () => notFound(`Item with id '${id}' not found.`, "item_not_found", param);
    if (!row || !response.success) throw missing();
    if (kind === "msg" && index === undefined) {
      return { kind: "message", content: response.data.content } satisfies ReferencedItem;
    }
    const call = index === undefined ? undefined : response.data.tool_calls?.[Number(index)];
    if (kind !== "fc" || !call) throw missing();
    return { kind: "function_call", call } satisfies ReferencedItem;
  };
}
