import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";
export class RateLimiter extends DurableObject<Env> {}
const app = new Hono<{ Bindings: Env }>();
app.get("/", (c) => c.text("ok"));
export default app;
