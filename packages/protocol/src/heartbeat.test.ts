import { type Hex, keccak256, stringToBytes } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import {
  HEARTBEAT_TYPES,
  type Heartbeat,
  heartbeatDigest,
  recoverHeartbeatSigner,
  signHeartbeat,
  verifyHeartbeat,
} from "./heartbeat";

// anvil's well-known accounts #8 and #7: public test keys.
const account = privateKeyToAccount(
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
);
const other = privateKeyToAccount(
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
);

const heartbeat = (changes: Partial<Heartbeat> = {}): Heartbeat => ({
  verifier: account.address,
  url: "https://verifier-1.example.com",
  policyHash: keccak256(stringToBytes("policy")),
  models: ["verity-embed-1", "verity-ngram-1"],
  version: "0.1.0",
  timestamp: 1_767_225_600_000,
  ...changes,
});

describe("heartbeats", () => {
  it("use the Heartbeat type with a string[] of models", () => {
    expect(
      `Heartbeat(${HEARTBEAT_TYPES.Heartbeat.map((f) => `${f.type} ${f.name}`).join(",")})`,
    ).toBe(
      "Heartbeat(address verifier,string url,bytes32 policyHash,string[] models,string version,uint64 timestamp)",
    );
  });

  it("commit to the models and their order", () => {
    const digest = heartbeatDigest(heartbeat());
    expect(heartbeatDigest(heartbeat({ models: ["verity-ngram-1", "verity-embed-1"] }))).not.toBe(
      digest,
    );
    expect(heartbeatDigest(heartbeat({ models: ["verity-embed-1"] }))).not.toBe(digest);
  });

  it("verify when signed by the verifier they name", async () => {
    const signed = await signHeartbeat(heartbeat(), account);
    expect(await verifyHeartbeat(JSON.parse(JSON.stringify(signed)))).toEqual({
      ok: true,
      signer: account.address,
      digest: heartbeatDigest(signed.heartbeat),
      heartbeat: signed.heartbeat,
    });
    expect(await recoverHeartbeatSigner(signed.heartbeat, signed.signature)).toMatchObject({
      ok: true,
      signer: account.address,
    });
  });

  it("refuse a changed url with signer_mismatch; recoverHeartbeatSigner returns another address", async () => {
    const signed = await signHeartbeat(heartbeat(), account);
    const moved = { ...signed.heartbeat, url: "https://attacker.example.com" };
    expect(await verifyHeartbeat({ ...signed, heartbeat: moved })).toMatchObject({
      ok: false,
      reason: "signer_mismatch",
    });
    const recovered = await recoverHeartbeatSigner(moved, signed.signature);
    expect(recovered.ok).toBe(true);
    expect(recovered.ok && recovered.signer).not.toBe(account.address);
  });

  it("refuse one signed by another key in the verifier's name", async () => {
    const forged = await signHeartbeat(heartbeat({ verifier: other.address }), other);
    const claimed = { ...forged, heartbeat: { ...forged.heartbeat, verifier: account.address } };
    expect(await verifyHeartbeat(claimed)).toMatchObject({ ok: false, reason: "signer_mismatch" });
  });

  it("refuse a non-http url or an unknown member as malformed, and a v of 0 as bad_signature", async () => {
    const signed = await signHeartbeat(heartbeat(), account);
    for (const bad of [
      { ...signed, heartbeat: { ...signed.heartbeat, url: "ftp://x.example.com" } },
      { ...signed, heartbeat: { ...signed.heartbeat, extra: true } },
    ]) {
      expect(await verifyHeartbeat(bad)).toMatchObject({ ok: false, reason: "malformed" });
    }
    const v0 = `${signed.signature.slice(0, 130)}00` as Hex;
    expect(await verifyHeartbeat({ ...signed, signature: v0 })).toMatchObject({
      ok: false,
      reason: "bad_signature",
    });
    expect(await recoverHeartbeatSigner(signed.heartbeat, v0)).toEqual({
      ok: false,
      reason: "bad_signature",
      message: expect.any(String),
    });
  });

  it("are not signed for another verifier", async () => {
    await expect(signHeartbeat(heartbeat({ verifier: other.address }), account)).rejects.toThrow(
      /not the signing account/,
    );
  });
});
