import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { methodNotAllowed } from "hono/method-not-allowed";
import { notFound, VerityError } from "../../errors";
import { errorResponse, onError } from "../../http/error-response";
import { requireApiKey } from "./auth";
import { bareChatCompletions, chatCompletions } from "./chat-completions";
import { completions } from "./completions";
import { embeddings } from "./embeddings";
import { gatewayConfig } from "./gateway-config";
import type { GatewayEnv } from "./gateway-env";
import { getInference } from "./inferences";
import { getModel, listModels } from "./models";
import { nodeAccount } from "./node-account";
import { getInferenceProof } from "./proof";
import { type PublicLimitOptions, publicLimits } from "./public-limits";
import { rateLimit } from "./rate-limit";
import { responses } from "./responses";
import { roundEvents, submitVerdict } from "./rounds";
import { heartbeat, listVerifiers } from "./verifiers";

export const MAX_BODY_BYTES = 1024 * 1024;

const tooLarge = () => {
  throw new VerityError(`Request body is larger than the ${MAX_BODY_BYTES} byte limit.`, {
    status: 413,
    type: "invalid_request_error",
    code: "request_too_large",
  });
};

const benchOnly = createMiddleware<GatewayEnv>(async (c, next) => {
  if (!gatewayConfig(c.env).bench) {
    throw notFound(`Unknown route: ${c.req.method} ${c.req.path}`, "unknown_route");
  }
  await next();
});

/** The gateway's HTTP surface. Route handlers live in one file each. */
export function createGatewayApp(
  options: { publicLimits?: PublicLimitOptions; keyRefusalsPerIp?: number } = {},
) {
  const app = new Hono<GatewayEnv>();
  app.onError(onError);
  // Answered, not thrown: methodNotAllowed turns a plain 404 on a known path into a 405.
  app.notFound((c) =>
    errorResponse(notFound(`Unknown route: ${c.req.method} ${c.req.path}`, "unknown_route")),
  );
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (_c, allowed) => {
        throw new VerityError(`Method not allowed. Use ${allowed.join(", ")}.`, {
          status: 405,
          type: "invalid_request_error",
          code: "method_not_allowed",
          headers: { allow: allowed.join(", ") },
        });
      },
    }),
  );
  const limited = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });
  const client = [requireApiKey(options.keyRefusalsPerIp), rateLimit, limited] as const;
  const { byIp } = publicLimits(options.publicLimits);

  app.get("/health", (c) => c.json({ status: "ok", node: nodeAccount(c.env).address }));

  // Clients, with an API key.
  app.post("/v1/chat/completions", ...client, chatCompletions);
  app.post("/v1/responses", ...client, responses);
  app.post("/v1/completions", ...client, completions);
  app.post("/v1/embeddings", ...client, embeddings);
  app.get("/v1/models", ...client, listModels);
  app.get("/v1/models/*", ...client, getModel);
  app.get("/v1/inferences/:id", ...client, getInference);
  app.get("/v1/inferences/:id/events", ...client, roundEvents);
  app.get("/v1/inferences/:id/proof", ...client, getInferenceProof);
  app.get("/v1/verifiers", ...client, listVerifiers);

  // Verifier nodes: their EIP-712 signatures are the credential.
  app.post("/v1/verifiers/heartbeat", byIp, limited, heartbeat);
  app.post("/v1/inferences/:id/verdicts", byIp, limited, submitVerdict);

  app.post("/bench/bare/chat/completions", benchOnly, ...client, bareChatCompletions);
  return app;
}
