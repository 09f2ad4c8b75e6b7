import { env } from "cloudflare:workers";
import { type Heartbeat, heartbeatDigest, signHeartbeat } from "@verity/protocol";
import { type Hex, keccak256, toHex } from "viem";
import { privateKeyToAccount, sign } from "viem/accounts";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createTestKey, gatewayFetch } from "../../../test/gateway";
import { VerifierRegistry } from "../../db/verifier-registry";
import { createGatewayApp } from "./app";
import { checkVerifierUrl } from "./verifier-url-policy";

const registered = privateKeyToAccount(keccak256(toHex("heartbeat test verifier")));
const stranger = privateKeyToAccount(keccak256(toHex("heartbeat test stranger")));
let key: string;

beforeAll(async () => {
  ({ key } = await createTestKey());
  await new VerifierRegistry(env.DB).register(registered.address, "http://old.test", Date.now());
});

const heartbeatOf = (verifier: `0x${string}`, changes: Partial<Heartbeat> = {}): Heartbeat => ({
  verifier,
  url: "http://verifier.test",
  policyHash: keccak256(toHex("policy")),
  models: ["verity-ngram-1", "verity-embed-1"],
  version: "0.1.0",
  timestamp: Date.now(),
  ...changes,
});

const post = (json: unknown) => gatewayFetch("/v1/verifiers/heartbeat", { method: "POST", json });

/** Refused heartbeats by reason, as `GET /v1/verifiers` shows them. */
const refusals = async (reason: string) => {
  const list = (await (await gatewayFetch("/v1/verifiers", { key })).json()) as {
    refused: { heartbeats: Record<string, number> };
  };
  return list.refused.heartbeats[reason] ?? 0;
};

/** A fingerprint of the verifiers table, so a test can show that a refusal wrote nothing. */
const d1Rows = async () => {
  const { results } = await env.DB.prepare(
    "select (select count(*) from verifiers) + (select sum(last_seen_at) from verifiers) as n",
  ).all<{ n: number }>();
  return results[0]?.n;
};

describe("POST /v1/verifiers/heartbeat", () => {
  it("records a registered verifier's signed heartbeat and shows it online", async () => {
    const res = await post(await signHeartbeat(heartbeatOf(registered.address), registered));
    expect(res.status).toBe(200);
    const list = (await (await gatewayFetch("/v1/verifiers", { key })).json()) as {
      data: { address: string; url: string; online: boolean; models: string[] }[];
    };
    expect(list.data.find((v) => v.address === registered.address)).toMatchObject({
      url: "http://verifier.test",
      online: true,
      models: ["verity-ngram-1", "verity-embed-1"],
    });
  });

  it("refuses a heartbeat signed by an unregistered key with 403, and counts it", async () => {
    const before = await refusals("unregistered_verifier");
    const res = await post(await signHeartbeat(heartbeatOf(stranger.address), stranger));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "unregistered_verifier",
    );
    expect(await refusals("unregistered_verifier")).toBe(before + 1);
  });

  it("refuses a forged heartbeat, naming a registered verifier but signed by another key, with 401", async () => {
    const heartbeat = heartbeatOf(registered.address);
    const signature = await sign({
      hash: heartbeatDigest(heartbeat),
      privateKey: keccak256(toHex("heartbeat test stranger")) as Hex,
      to: "hex",
    });
    const res = await post({ heartbeat, signature });
    expect(res.status).toBe(401);
    expect(await refusals("bad_signature")).toBeGreaterThan(0);
  });

  it("refuses unsigned, malformed and stale heartbeats with 400", async () => {
    expect((await post({ heartbeat: heartbeatOf(registered.address) })).status).toBe(400);
    expect((await post({ nonsense: true })).status).toBe(400);
    const stale = await signHeartbeat(
      heartbeatOf(registered.address, { timestamp: Date.now() - 600_000 }),
      registered,
    );
    const res = await post(stale);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("stale_heartbeat");
    expect(await refusals("malformed")).toBeGreaterThanOrEqual(2);
  });

  it("takes a verifier's heartbeats only forward: a replayed or older one is 409 and changes nothing", async () => {
    const first = await signHeartbeat(
      heartbeatOf(registered.address, { url: "http://first.test", timestamp: Date.now() + 10_000 }),
      registered,
    );
    const newer = await signHeartbeat(
      heartbeatOf(registered.address, { url: "http://newer.test", timestamp: Date.now() + 11_000 }),
      registered,
    );
    expect((await post(first)).status).toBe(200);
    expect((await post(newer)).status).toBe(200);
    // Replaying the first (within the clock skew) would roll the URL back.
    for (const replay of [first, newer]) {
      const res = await post(replay);
      expect(res.status).toBe(409);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        "replayed_heartbeat",
      );
    }
    const list = (await (await gatewayFetch("/v1/verifiers", { key })).json()) as {
      data: { address: string; url: string }[];
    };
    expect(list.data.find((v) => v.address === registered.address)?.url).toBe("http://newer.test");
    expect(await refusals("replayed_heartbeat")).toBe(2);
  });

  it("refuses unauthenticated heartbeats without writing to D1", async () => {
    const rows = await d1Rows();
    const heartbeat = heartbeatOf(registered.address);
    const forged = await sign({
      hash: heartbeatDigest(heartbeat),
      privateKey: keccak256(toHex("heartbeat test stranger")) as Hex,
      to: "hex",
    });
    for (let i = 0; i < 20; i++) {
      expect((await post({ nonsense: i })).status).toBe(400);
      expect((await post({ heartbeat, signature: forged })).status).toBe(401);
      const unregistered = await signHeartbeat(
        heartbeatOf(stranger.address, { timestamp: Date.now() + i }),
        stranger,
      );
      expect((await post(unregistered)).status).toBe(403);
    }
    expect(await d1Rows()).toBe(rows);
  });
});

describe("verifier URLs under the public-https policy", () => {
  it("takes public https URLs and refuses http, loopback, private and internal ones", () => {
    const allowed = ["https://verifier.example.com", "https://8.8.8.8:8443/base"];
    const refused = [
      "http://verifier.example.com",
      "https://127.0.0.1",
      "https://10.1.2.3",
      "https://172.20.0.1",
      "https://192.168.1.1",
      "https://169.254.169.254",
      "https://100.64.0.1",
      "https://[::1]",
      "https://[fd00::1]",
      "https://[fe80::1]",
      "https://[::ffff:127.0.0.1]",
      "https://localhost",
      "https://metadata.internal",
      "https://printer.local",
      "ftp://verifier.example.com",
    ];
    for (const url of allowed)
      expect([url, checkVerifierUrl(url, "public-https").ok]).toEqual([url, true]);
    for (const url of refused)
      expect([url, checkVerifierUrl(url, "public-https").ok]).toEqual([url, false]);
    expect(checkVerifierUrl("http://127.0.0.1:8788", "local").ok).toBe(true);
  });

  it("a registered verifier announcing a private URL is refused with 400 and its URL is kept", async () => {
    const heartbeat = await signHeartbeat(
      heartbeatOf(registered.address, {
        url: "https://169.254.169.254/latest",
        timestamp: Date.now() + 20_000,
      }),
      registered,
    );
    const res = await createGatewayApp().request(
      "/v1/verifiers/heartbeat",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(heartbeat),
      },
      { ...env, VERIFIER_URL_POLICY: "public-https" },
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("disallowed_url");
    const list = (await (await gatewayFetch("/v1/verifiers", { key })).json()) as {
      data: { address: string; url: string }[];
    };
    expect(list.data.find((v) => v.address === registered.address)?.url).not.toContain("169.254");
  });
});

describe("limits on the public routes, counted in memory", () => {
  // One frozen instant per test: a limit's minute cannot roll over halfway through.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now());
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const limitedApp = () =>
    createGatewayApp({ publicLimits: { perIpPerMinute: 3, perVerifierPerMinute: 2 } });
  const from = (ip: string, json: unknown): RequestInit => ({
    method: "POST",
    headers: { "content-type": "application/json", "cf-connecting-ip": ip },
    body: JSON.stringify(json),
  });

  it("answers 429 with retry-after to an IP over its limit, before reading its body, and others go on", async () => {
    const app = limitedApp();
    const route = "/v1/inferences/01a22799-03e2-7a43-9415-a56483160ecf/verdicts";
    for (let i = 0; i < 3; i++) {
      expect((await app.request(route, from("203.0.113.7", {}), env)).status).toBe(400);
    }
    const over = await app.request(route, from("203.0.113.7", {}), env);
    expect(over.status).toBe(429);
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe(
      "rate_limit_exceeded",
    );
    const heartbeat = await app.request("/v1/verifiers/heartbeat", from("203.0.113.7", {}), env);
    expect(heartbeat.status).toBe(429);
    expect((await app.request(route, from("198.51.100.2", {}), env)).status).toBe(400);
  });

  it("answers 429 to a verifier address over its limit whatever IP it comes from, before D1 is read", async () => {
    const app = limitedApp();
    const beat = async (ip: string, offset: number) =>
      app.request(
        "/v1/verifiers/heartbeat",
        from(
          ip,
          await signHeartbeat(
            heartbeatOf(registered.address, { timestamp: Date.now() + offset }),
            registered,
          ),
        ),
        env,
      );
    expect((await beat("192.0.2.1", 40_001)).status).toBe(200);
    expect((await beat("192.0.2.2", 40_002)).status).toBe(200);
    const before = await d1Rows();
    const over = await beat("192.0.2.3", 40_003);
    expect(over.status).toBe(429);
    expect(await d1Rows()).toBe(before);
    // A stranger's signature is its own address: it is not charged to the registered one.
    const stranger429 = await app.request(
      "/v1/verifiers/heartbeat",
      from("192.0.2.4", await signHeartbeat(heartbeatOf(stranger.address), stranger)),
      env,
    );
    expect(stranger429.status).toBe(403);
  });
});
