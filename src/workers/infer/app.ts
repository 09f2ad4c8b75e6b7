import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { methodNotAllowed } from "hono/method-not-allowed";
import { notFound, VerityError } from "../../errors";
import { requireApiKey } from "./auth";
import { bareChatCompletions, chatCompletions } from "./chat-completions";
import { embeddings } from "./embeddings";
import type { GatewayEnv } from "./gateway-env";
import { getInference } from "./inferences";
import { getModel, listModels } from "./models";
import { nodeAccount } from "./node-account";
import { errorResponse, onError } from "./on-error";
import { rateLimit } from "./rate-limit";

export const MAX_BODY_BYTES = 1024 * 1024;

const tooLarge = () => {
  throw new VerityError(`Request body is larger than the ${MAX_BODY_BYTES} byte limit.`, {
    status: 413,
    type: "invalid_request_error",
    code: "request_too_large",
  });
};

/** The gateway's HTTP surface. Route handlers live in one file each. */
export function createGatewayApp() {
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

  app.get("/health", (c) => c.json({ status: "ok", node: nodeAccount(c.env).address }));

  const v1 = new Hono<GatewayEnv>();
  v1.use(requireApiKey, rateLimit, bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge }));
  v1.post("/chat/completions", chatCompletions);
  v1.post("/embeddings", embeddings);
  v1.get("/models", listModels);
  v1.get("/models/*", getModel);
  v1.get("/inferences/:id", getInference);
  app.route("/v1", v1);

  const bench = new Hono<GatewayEnv>();
  bench.use(
    async (c, next) => {
      if (c.env.VERITY_BENCH !== "1")
        throw notFound(`Unknown route: ${c.req.method} ${c.req.path}`, "unknown_route");
      await next();
    },
    requireApiKey,
    rateLimit,
  );
  bench.post("/chat/completions", bareChatCompletions);
  app.route("/bench/bare", bench);
  return app;
}
