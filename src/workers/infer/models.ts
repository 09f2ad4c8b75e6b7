import type { Context } from "hono";
import type { ModelInfo } from "../../backends/backend";
import { createModelRegistry } from "../../backends/registry";
import type { GatewayEnv } from "./gateway-env";

const toOpenAi = (m: ModelInfo) => ({
  id: m.id,
  object: "model",
  created: m.created,
  owned_by: m.ownedBy,
  verity: { backend: m.backend, kind: m.kind, deterministic: m.deterministic },
});

/** `GET /v1/models` */
export const listModels = (c: Context<GatewayEnv>) =>
  c.json({ object: "list", data: createModelRegistry(c.env).list().map(toOpenAi) });

/** `GET /v1/models/{id}`; ids may contain slashes (`@cf/meta/...`). */
export const getModel = (c: Context<GatewayEnv>) => {
  const id = decodeURIComponent(c.req.path.slice("/v1/models/".length));
  return c.json(toOpenAi(createModelRegistry(c.env).get(id)));
};
