import type { Context } from "hono";
import type { ModelInfo } from "../../backends/backend";
import { createModelRegistry } from "../../backends/registry";
import type { GatewayEnv } from "./gateway-env";

/**
 * A model as OpenAI lists it, with Verity's block: where it runs, whether verifiers can
 * re-execute it exactly, and the limits and abilities the API enforces for it.
 */
const toOpenAi = (m: ModelInfo) => {
  const can = m.capabilities;
  return {
    id: m.id,
    object: "model",
    created: m.created,
    owned_by: m.ownedBy,
    verity: {
      backend: m.backend,
      kind: m.kind,
      deterministic: m.deterministic,
      limits: {
        context_window: can.contextWindow,
        ...(m.kind === "chat"
          ? { max_output_tokens: can.maxOutputTokens, max_choices: can.maxChoices }
          : {}),
        ...(can.embeddingDimensions
          ? {
              embedding_dimensions: can.embeddingDimensions.default,
              shortenable_dimensions: can.embeddingDimensions.shortenable,
            }
          : {}),
      },
      supports:
        m.kind === "chat"
          ? {
              tools: can.tools,
              json_schema: can.jsonSchema,
              logprobs: can.logprobs,
              images: can.images,
            }
          : { dimensions: can.embeddingDimensions?.shortenable ?? false },
    },
  };
};

/** `GET /v1/models` */
export const listModels = (c: Context<GatewayEnv>) =>
  c.json({ object: "list", data: createModelRegistry(c.env).list().map(toOpenAi) });

/** `GET /v1/models/{id}`; ids may contain slashes (`@cf/meta/...`). */
export const getModel = (c: Context<GatewayEnv>) => {
  const id = decodeURIComponent(c.req.path.slice("/v1/models/".length));
  return c.json(toOpenAi(createModelRegistry(c.env).get(id)));
};
