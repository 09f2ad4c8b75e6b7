import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { afterEach, beforeEach, expect, it } from "vitest";
import { runAtRate } from "./run-at-rate.ts";

// A real HTTP server that answers after `delayMs`, counting what it receives.
let server: Server;
let url: string;
let received: number;
let delayMs: number;
beforeEach(async () => {
  received = 0;
  delayMs = 0;
  server = createServer((_req, res) => {
    received += 1;
    setTimeout(() => res.writeHead(200).end("ok"), delayMs);
  }).listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterEach(() => {
  server.close();
});

const load = { headers: {}, body: "{}", maxInFlight: 100 };

it("sends rate × duration requests spread over the duration", async () => {
  const result = await runAtRate({ ...load, url, ratePerSecond: 100, durationMs: 300 });
  expect(result).toMatchObject({ sent: 30, succeeded: 30, errors: 0, skipped: 0 });
  expect(received).toBe(30);
  // The last request is due at 290 ms: not all at once, not later than a little slack.
  expect(result.elapsedMs).toBeGreaterThanOrEqual(290);
});

it("keeps the rate when answers are slow, skipping only what exceeds maxInFlight", async () => {
  delayMs = 1_000;
  const result = await runAtRate({
    ...load,
    url,
    ratePerSecond: 100,
    durationMs: 200,
    maxInFlight: 5,
  });
  // Five go out in the first 50 ms; the next ones are due while all five are still out (for 1 s).
  expect(result.sent).toBe(5);
  expect(result.skipped).toBe(15);
  expect(result.succeeded).toBe(5);
});

it("counts failed answers with the first one's status and body", async () => {
  server.removeAllListeners("request");
  server.on("request", (_req, res) => res.writeHead(503).end("busy"));
  const result = await runAtRate({ ...load, url, ratePerSecond: 50, durationMs: 100 });
  expect(result).toMatchObject({ sent: 5, succeeded: 0, errors: 5, firstError: "503: busy" });
});
