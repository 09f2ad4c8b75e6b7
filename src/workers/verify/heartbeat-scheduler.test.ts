import {
  createExecutionContext,
  createScheduledController,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { recoverHeartbeatSigner, SignedHeartbeat, verifyHeartbeat } from "@verity/protocol";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { verifierAddress, verifierEnv } from "../../../test/verify/inference";
import { createVerifierApp } from "./app";
import { HEARTBEAT_SCHEDULER_NAME } from "./heartbeat-scheduler";
import worker from "./index";
import { sendHeartbeat } from "./send-heartbeat";

const stub = () => verifierEnv.HEARTBEAT_SCHEDULER.getByName(HEARTBEAT_SCHEDULER_NAME);
const alarm = () => runInDurableObject(stub(), (_i, state) => state.storage.getAlarm());
const interval = Number(env.HEARTBEAT_INTERVAL_MS);

/**
 * Waits until an alarm armed to fire now has run on its own: it re-arms (before sending) to a
 * full interval ahead, so nothing is left in flight when the test ends.
 */
const settled = () =>
  vi.waitFor(
    async () => {
      expect(await alarm()).toBeGreaterThan(Date.now() + interval / 2);
    },
    { timeout: 5_000, interval: 20 },
  );

/** Intercepts outbound fetches; answers the coordinator's heartbeat route with `status`. */
function interceptHeartbeats(status = 200) {
  const bodies: unknown[] = [];
  const urls: string[] = [];
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    urls.push(request.url);
    bodies.push(await request.json());
    return Response.json({ ok: status < 400 }, { status });
  });
  return { spy, bodies, urls };
}

// Other files of this runtime reach the worker's fetch, which arms the shared alarm: each test
// starts with none, so no heartbeat but its own lands in its interceptor.
beforeEach(async () => {
  await runInDurableObject(stub(), (_instance, state) => state.storage.deleteAlarm());
});
afterEach(async () => {
  await runInDurableObject(stub(), (_instance, state) => state.storage.deleteAlarm());
  vi.restoreAllMocks();
});

describe("heartbeats", () => {
  it("a heartbeat is signed and recovers to the node address, and goes to the coordinator's heartbeat route", async () => {
    const { bodies, urls } = interceptHeartbeats();
    const before = Date.now();
    const result = await sendHeartbeat(verifierEnv);
    expect(result.ok).toBe(true);
    expect(urls).toEqual(["http://coordinator.test/v1/verifiers/heartbeat"]);
    const signed = SignedHeartbeat.parse(bodies[0]);
    expect(await recoverHeartbeatSigner(signed.heartbeat, signed.signature)).toMatchObject({
      ok: true,
      signer: verifierAddress,
    });
    expect(await verifyHeartbeat(bodies[0])).toMatchObject({ ok: true, signer: verifierAddress });
    // The app itself, not the worker: the worker's fetch arms the heartbeat alarm in the
    // background, and that heartbeat would land in the next test.
    const health = (await (
      await createVerifierApp().request("/v1/health", {}, verifierEnv)
    ).json()) as Record<string, unknown>;
    expect(signed.heartbeat).toMatchObject({
      verifier: verifierAddress,
      url: "http://verifier.test",
      policyHash: health.policyHash,
      models: ["verity-ngram-1", "verity-embed-1"],
      version: "0.1.0",
    });
    expect(signed.heartbeat.timestamp).toBeGreaterThanOrEqual(before);
  });

  it("the alarm sends a heartbeat and re-arms itself HEARTBEAT_INTERVAL_MS later", async () => {
    const { bodies } = interceptHeartbeats();
    // Far ahead, so that only runDurableObjectAlarm runs it.
    await runInDurableObject(stub(), (_i, state) => state.storage.setAlarm(Date.now() + 3_600_000));
    expect(await runDurableObjectAlarm(stub())).toBe(true);
    expect(bodies).toHaveLength(1);
    const next = await alarm();
    expect(next).toBeGreaterThanOrEqual(Date.now() + interval - 1_000);
    expect(next).toBeLessThanOrEqual(Date.now() + interval);
  });

  it("arming fires a first heartbeat at once, and a second arm is harmless: it keeps the alarm already set", async () => {
    const { bodies } = interceptHeartbeats();
    expect(await stub().ensureArmed()).toBeLessThanOrEqual(Date.now());
    await settled();
    expect(bodies).toHaveLength(1);
    const scheduled = await alarm();
    expect(await stub().ensureArmed()).toBe(scheduled);
    expect(await stub().ensureArmed()).toBe(scheduled);
    expect(await alarm()).toBe(scheduled);
    expect(bodies).toHaveLength(1);
  });

  it("a failing coordinator is logged, never crashes, and the alarm still re-arms", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const { bodies } = interceptHeartbeats(503);
    await stub().ensureArmed();
    await settled();
    expect(bodies).toHaveLength(1);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("coordinator answered 503"));
    vi.spyOn(globalThis, "fetch").mockRejectedValue(new TypeError("network down"));
    expect(await runDurableObjectAlarm(stub())).toBe(true);
    expect(await alarm()).toBeGreaterThan(Date.now());
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("network down"));
  });

  it("the cron trigger arms a missing alarm, which then sends a heartbeat", async () => {
    const { bodies } = interceptHeartbeats();
    expect(await alarm()).toBeNull();
    const ctx = createExecutionContext();
    worker.scheduled(createScheduledController({ cron: "* * * * *" }), verifierEnv, ctx);
    await waitOnExecutionContext(ctx);
    await settled();
    expect(bodies).toHaveLength(1);
  });
});
