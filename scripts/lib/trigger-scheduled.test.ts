import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { afterEach, beforeEach, expect, it } from "vitest";
import { freePort } from "./ports.ts";
import { SCHEDULED_PATH, triggerScheduled, triggerScheduledEvery } from "./trigger-scheduled.ts";

// A stand-in for wrangler dev's scheduled route, answering as miniflare does: 200 "ok", or 500
// with the outcome. (local-network.test.ts runs the real one, through the gateway's cron.)
let server: Server;
let url: string;
let requests: URL[];
let answers: { status: number; body: string }[];
beforeEach(async () => {
  requests = [];
  answers = [];
  server = createServer((req: IncomingMessage, res) => {
    requests.push(new URL(req.url ?? "/", "http://localhost"));
    const answer = answers.shift() ?? { status: 200, body: "ok" };
    res.writeHead(answer.status).end(answer.body);
  }).listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterEach(() => {
  server.close();
});

it("runs the handler through miniflare's scheduled route, naming the cron", async () => {
  await triggerScheduled(url, { cron: "*/5 * * * *" });
  expect(requests.map((r) => [r.pathname, r.searchParams.get("cron")])).toEqual([
    [SCHEDULED_PATH, "*/5 * * * *"],
  ]);
});

it("fails with the handler's outcome, or when nothing listens", async () => {
  answers.push({ status: 500, body: "exception" });
  await expect(triggerScheduled(url)).rejects.toMatchObject({
    code: "scheduled_failed",
    message: expect.stringContaining("500 exception"),
  });
  await expect(triggerScheduled(`http://127.0.0.1:${await freePort()}`)).rejects.toMatchObject({
    code: "scheduled_failed",
  });
});

it("runs every interval, reporting a failure once and the recovery once", async () => {
  answers.push(
    { status: 200, body: "ok" },
    { status: 500, body: "exception" },
    { status: 500, body: "exception" },
    { status: 200, body: "ok" },
  );
  const reports = await loop(5);
  expect(reports).toHaveLength(2);
  expect(reports[0]).toContain("500 exception");
  expect(reports[1]).toBe("scheduled runs work again");
});

it("says nothing of failures while the worker may still be starting, unless they last", async () => {
  const failure = { status: 500, body: "exception" };
  answers.push(failure, failure, { status: 200, body: "ok" });
  expect(await loop(4)).toEqual([]);

  requests = [];
  answers.push(failure, failure, failure, failure);
  const reports = await loop(4);
  expect(reports).toHaveLength(1);
  expect(reports[0]).toContain("500 exception");
});

/** Runs the loop every 20 ms until the server has had `runs` requests; what it reported. */
async function loop(runs: number): Promise<string[]> {
  const reports: string[] = [];
  const aborter = new AbortController();
  const running = triggerScheduledEvery(url, {
    intervalMs: 20,
    signal: aborter.signal,
    report: (line) => reports.push(line),
  });
  while (requests.length < runs) await new Promise((resolve) => setTimeout(resolve, 10));
  aborter.abort();
  await running;
  return reports;
}

it("stops when told to, before the next run", async () => {
  let checks = 0;
  await triggerScheduledEvery(url, {
    intervalMs: 5,
    report: () => {},
    shouldStop: () => ++checks > 2,
  });
  expect(requests).toHaveLength(2);
});
