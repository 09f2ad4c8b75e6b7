import { env } from "cloudflare:workers";
import { type Hex, keccak256, toHex } from "viem";
import { privateKeyToAccount, sign } from "viem/accounts";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestKey, gatewayFetch } from "../../../test/gateway";
import { VerifierRegistry } from "../../db/verifier-registry";
import { type Heartbeat, heartbeatDigest, signHeartbeat } from "../../protocol";

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

const refusals = async (reason: string) =>
  (
    await env.DB.prepare("select count from refusals where scope = 'heartbeat' and reason = ?")
      .bind(reason)
      .first<{ count: number }>()
  )?.count ?? 0;

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
});
