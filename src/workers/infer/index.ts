import { createGatewayApp } from "./app";

export { RateLimiter } from "../../durable/rate-limiter";

const app = createGatewayApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
