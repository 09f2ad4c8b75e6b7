import {
  concat,
  type Hex,
  hashTypedData,
  keccak256,
  numberToHex,
  recoverTypedDataAddress,
  stringToBytes,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { hashCanonical } from "./canonical";
import { RECEIPT_DOMAIN, RECEIPT_DOMAIN_V2 } from "./receipt";
import {
  type CheckResult,
  checksDigest,
  recoverVerdictSigner,
  signVerdict,
  type UnsignedVerdictV1,
  type UnsignedVerdictV2,
  VERDICT_TYPES,
  VERDICT_TYPES_V2,
  type Verdict,
  verdictDigest,
  verdictOutcome,
  verifyVerdict,
} from "./verdict";

// anvil's well-known accounts #8 and #7: public test keys.
const account = privateKeyToAccount(
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
);
const other = privateKeyToAccount(
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
);
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const checks: CheckResult[] = [
  { check: "receipt-integrity@1", status: "pass", reason: "ok" },
  { check: "rules@1", status: "pass", reason: "ok" },
  { check: "re-execution@1", status: "pass", reason: "response_hash_matched" },
];

const unsigned = (changes: Partial<UnsignedVerdictV1> = {}): UnsignedVerdictV1 => ({
  version: 1,
  inferenceId: "019b76da-a800-7c1f-9a2b-4d3e5f607182",
  receiptDigest: keccak256(stringToBytes("receipt")),
  outcome: "valid",
  checks,
  checksDigest: checksDigest(checks),
  policyHash: keccak256(stringToBytes("policy")),
  verifier: account.address,
  ...changes,
});

const highS = (signature: Hex): Hex => {
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = signature.endsWith("1b") ? "1c" : "1b";
  return `${signature.slice(0, 66)}${numberToHex(SECP256K1_N - s, { size: 32 }).slice(2)}${v}` as Hex;
};

describe("verdictOutcome", () => {
  it("is invalid when any check fails, even if another could not be made", () => {
    expect(
      verdictOutcome([
        { check: "rules@1", status: "fail", reason: "stop_sequence_in_content" },
        { check: "re-execution@1", status: "skip", reason: "model_unknown" },
      ]),
    ).toBe("invalid");
  });

  it("abstains when no check fails but a needed re-execution was impossible", () => {
    expect(
      verdictOutcome([
        { check: "rules@1", status: "pass", reason: "ok" },
        { check: "re-execution@1", status: "skip", reason: "model_unavailable" },
      ]),
    ).toBe("abstain");
  });

  it("is valid when a model is not deterministic, so re-execution is skipped by design", () => {
    expect(
      verdictOutcome([
        { check: "rules@1", status: "pass", reason: "ok" },
        { check: "re-execution@1", status: "skip", reason: "not_deterministic" },
      ]),
    ).toBe("valid");
  });
});

describe("checksDigest", () => {
  it("is hashCanonical of the checks, so member order does not matter but check order does", () => {
    expect(checksDigest(checks)).toBe(hashCanonical(checks));
    const reordered = checks.map((c) => ({ reason: c.reason, status: c.status, check: c.check }));
    expect(checksDigest(reordered)).toBe(checksDigest(checks));
    expect(checksDigest([...checks].reverse())).not.toBe(checksDigest(checks));
  });
});

describe("verdictDigest", () => {
  it("is the EIP-712 hash of Verdict(string,bytes32,uint8,bytes32,bytes32) computed by hand", () => {
    const v = unsigned({ outcome: "abstain" });
    const type =
      "Verdict(string inferenceId,bytes32 receiptDigest,uint8 outcome,bytes32 checksDigest,bytes32 policyHash)";
    expect(`Verdict(${VERDICT_TYPES.Verdict.map((f) => `${f.type} ${f.name}`).join(",")})`).toBe(
      type,
    );
    const structHash = keccak256(
      concat([
        keccak256(stringToBytes(type)),
        keccak256(stringToBytes(v.inferenceId)),
        v.receiptDigest,
        numberToHex(3, { size: 32 }),
        v.checksDigest,
        v.policyHash,
      ]),
    );
    const domain = keccak256(
      concat([
        keccak256(stringToBytes("EIP712Domain(string name,string version)")),
        keccak256(stringToBytes("Verity")),
        keccak256(stringToBytes("1")),
      ]),
    );
    expect(verdictDigest(v)).toBe(keccak256(concat(["0x1901", domain, structHash])));
  });

  it("differs for each outcome, so an outcome cannot be swapped under a signature", () => {
    const digests = (["valid", "invalid", "abstain"] as const).map((outcome) =>
      verdictDigest(unsigned({ outcome })),
    );
    expect(new Set(digests).size).toBe(3);
  });
});

describe("signVerdict", () => {
  it("signs deterministically, and the signature recovers to the verifier with viem's typed-data recovery", async () => {
    const a = await signVerdict(unsigned(), account);
    const b = await signVerdict(unsigned(), account);
    expect(a.signature).toBe(b.signature);
    expect(a.signature).toMatch(/^0x[0-9a-f]{128}(1b|1c)$/);
    expect(
      await recoverTypedDataAddress({
        domain: RECEIPT_DOMAIN,
        types: VERDICT_TYPES,
        primaryType: "Verdict",
        message: { ...a, outcome: 1 },
        signature: a.signature,
      }),
    ).toBe(account.address);
  });

  it("refuses to sign for another verifier or with a checksDigest that is not the checks'", async () => {
    await expect(signVerdict(unsigned({ verifier: other.address }), account)).rejects.toThrow(
      /not the signing account/,
    );
    await expect(
      signVerdict(unsigned({ checksDigest: keccak256("0x00") }), account),
    ).rejects.toThrow(/checksDigest/);
  });
});

describe("verifyVerdict", () => {
  it("accepts a signed verdict and returns its signer and digest", async () => {
    const verdict = await signVerdict(unsigned(), account);
    expect(await verifyVerdict(verdict)).toEqual({
      ok: true,
      signer: account.address,
      digest: verdictDigest(verdict),
      verdict,
    });
  });

  it("refuses an outcome changed after signing with signer_mismatch", async () => {
    const verdict = await signVerdict(unsigned(), account);
    expect(await verifyVerdict({ ...verdict, outcome: "invalid" })).toMatchObject({
      ok: false,
      reason: "signer_mismatch",
    });
  });

  it("refuses checks changed after signing with checks_digest_mismatch", async () => {
    const verdict = await signVerdict(unsigned(), account);
    const edited = checks.map((c, i) => (i === 1 ? { ...c, status: "fail" as const } : c));
    expect(await verifyVerdict({ ...verdict, checks: edited })).toMatchObject({
      ok: false,
      reason: "checks_digest_mismatch",
    });
  });

  it("refuses a verdict signed by a key that is not its verifier's with signer_mismatch", async () => {
    const forged = await signVerdict(unsigned({ verifier: other.address }), other);
    expect(await verifyVerdict({ ...forged, verifier: account.address })).toMatchObject({
      ok: false,
      reason: "signer_mismatch",
    });
  });

  it("refuses the high-s twin of a valid signature with bad_signature", async () => {
    const verdict = await signVerdict(unsigned(), account);
    expect(await verifyVerdict({ ...verdict, signature: highS(verdict.signature) })).toMatchObject({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("refuses unknown members, outcomes and a lowercase verifier as malformed", async () => {
    const verdict = await signVerdict(unsigned(), account);
    for (const bad of [
      { ...verdict, extra: 1 },
      { ...verdict, outcome: "maybe" },
      { ...verdict, verifier: verdict.verifier.toLowerCase() },
      { ...verdict, checks: [] },
      { ...verdict, checks: [{ check: "rules", status: "pass", reason: "ok" }] },
    ]) {
      expect(await verifyVerdict(bad)).toMatchObject({ ok: false, reason: "malformed" });
    }
  });
});

describe("recoverVerdictSigner", () => {
  it("returns the address that signed, even when it is not the named verifier", async () => {
    const forged = await signVerdict(unsigned({ verifier: other.address }), other);
    expect(await recoverVerdictSigner(await signVerdict(unsigned(), account))).toMatchObject({
      ok: true,
      signer: account.address,
    });
    expect(await recoverVerdictSigner({ ...forged, verifier: account.address })).toMatchObject({
      ok: true,
      signer: other.address,
    });
  });

  it("refuses with the exact reason, never a throw or an HTTP status: bad_signature, checks_digest_mismatch", async () => {
    const verdict: Verdict = await signVerdict(unsigned(), account);
    const bad = await recoverVerdictSigner({ ...verdict, signature: highS(verdict.signature) });
    expect(bad).toMatchObject({ ok: false, reason: "bad_signature" });
    expect(bad).not.toHaveProperty("status");
    const edited = await recoverVerdictSigner({ ...verdict, checks: checks.slice(1) });
    expect(edited).toMatchObject({ ok: false, reason: "checks_digest_mismatch" });
  });
});

describe("version-2 verdicts", () => {
  const v2 = (changes: Partial<UnsignedVerdictV2> = {}): UnsignedVerdictV2 => ({
    ...unsigned(),
    version: 2,
    strength: "unset",
    strengthScore: 0,
    ...changes,
  });

  it("are signed under domain version 2 with the strength fields, as viem's typed data hashes them", async () => {
    expect(VERDICT_TYPES_V2.Verdict.map((f) => `${f.type} ${f.name}`).join(",")).toBe(
      "string inferenceId,bytes32 receiptDigest,uint8 outcome,bytes32 checksDigest,bytes32 policyHash,uint8 strength,uint16 strengthScore",
    );
    const verdict = await signVerdict(v2(), account);
    const message = {
      inferenceId: verdict.inferenceId,
      receiptDigest: verdict.receiptDigest,
      outcome: 1,
      checksDigest: verdict.checksDigest,
      policyHash: verdict.policyHash,
      strength: 0,
      strengthScore: 0,
    };
    const typed = {
      domain: RECEIPT_DOMAIN_V2,
      types: VERDICT_TYPES_V2,
      primaryType: "Verdict",
      message,
    } as const;
    expect(verdictDigest(verdict)).toBe(hashTypedData(typed));
    expect(await recoverTypedDataAddress({ ...typed, signature: verdict.signature })).toBe(
      account.address,
    );
    expect(await verifyVerdict(verdict)).toMatchObject({ ok: true, signer: account.address });
  });

  it("never share a digest with the version-1 verdict of the same judgement", () => {
    expect(verdictDigest(v2())).not.toBe(verdictDigest(unsigned()));
  });

  it("refuse a strength changed after signing, or a version-1 signature relabelled as version 2", async () => {
    const signed = await signVerdict(v2(), account);
    expect(await verifyVerdict({ ...signed, strengthScore: 1 })).toMatchObject({
      ok: false,
      reason: "signer_mismatch",
    });
    const old = await signVerdict(unsigned(), account);
    expect(
      await verifyVerdict({ ...old, version: 2, strength: "unset", strengthScore: 0 }),
    ).toMatchObject({ ok: false, reason: "signer_mismatch" });
  });

  it("refuse a strength that is not defined yet, or a score past 10,000, as malformed", async () => {
    const signed = await signVerdict(v2(), account);
    for (const changes of [
      { strength: "exact" },
      { strengthScore: 10_001 },
      { strength: undefined },
    ]) {
      expect(await verifyVerdict({ ...signed, ...changes })).toMatchObject({
        ok: false,
        reason: "malformed",
      });
    }
  });
});
