import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { inferences } from "../../db/schema";
import { notFound } from "../../errors";
import type { GatewayEnv } from "./gateway-env";
import { settlementOf } from "./proof";
import { roundSnapshot } from "./rounds";

/**
 * `GET /v1/inferences/{id}`: the stored record, its receipt and status. Another key's record
 * answers 404 like a missing one, so ids cannot be probed.
 */
export async function getInference(c: Context<GatewayEnv>): Promise<Response> {
  const id = c.req.param("id") ?? "";
  const [row] = await drizzle(c.env.DB)
    .select()
    .from(inferences)
    .where(and(eq(inferences.id, id), eq(inferences.apiKeyId, c.get("apiKey").id)))
    .limit(1);
  if (!row)
    throw notFound(`No inference with id '${id}' for this API key.`, "inference_not_found", "id");
  return c.json({
    id: row.id,
    object: "inference",
    kind: row.kind,
    model: row.model,
    backend: row.backend,
    status: row.status,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    stream: row.stream,
    user: row.user,
    request: row.request,
    response: row.response,
    usage: row.usage,
    receipt: row.receipt,
    verification: await roundSnapshot(c.env, row.id),
    settlement: await settlementOf(c.env, row.id),
  });
}
