import { type Hex, hexToBigInt, keccak256, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import {
  BATCH_TYPES,
  type BatchSignature,
  batchDigest,
  LEDGER_DOMAIN_NAME,
  LEDGER_DOMAIN_VERSION,
  ledgerDomain,
  recoverBatchSigner,
  SettlementBatch,
  settlementSignatures,
  signBatch,
} from "./settlement-batch";

// Pinned from VerityLedger itself: contracts/test/verity-ledger.test.ts asserts that the
// contract deployed at this address on anvil (chain 31337) returns VECTOR_DIGEST.
const VECTOR_LEDGER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const VECTOR_BATCH = {
  batchId: 42n,
  root: "0x4242424242424242424242424242424242424242424242424242424242424242",
  count: 10_000,
} as const satisfies SettlementBatch;
const VECTOR_DIGEST = "0x41513b9a08616b4eaa775c7eaf62beae60cead4ec27fbda2016b24cc37f94d1a";

const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
// anvil's well-known accounts #7, #8 and #9: test keys only.
const accounts = [
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
].map((key) => privateKeyToAccount(key as Hex));
const domain = ledgerDomain(31337, VECTOR_LEDGER);

describe("BATCH_TYPES and ledgerDomain", () => {
  it("are the type and domain VerityLedger verifies against", () => {
    expect(`Batch(${BATCH_TYPES.Batch.map((f) => `${f.type} ${f.name}`).join(",")})`).toBe(
      "Batch(uint64 batchId,bytes32 root,uint32 count)",
    );
    expect(ledgerDomain(8453, "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512")).toEqual({
      name: LEDGER_DOMAIN_NAME,
      version: LEDGER_DOMAIN_VERSION,
      chainId: 8453,
      verifyingContract: VECTOR_LEDGER,
    });
    expect([LEDGER_DOMAIN_NAME, LEDGER_DOMAIN_VERSION]).toEqual(["Verity Ledger", "1"]);
  });
});

describe("batchDigest", () => {
  it("matches the digest the deployed contract computes for the pinned vector", () => {
    expect(batchDigest(VECTOR_BATCH, domain)).toBe(VECTOR_DIGEST);
  });

  it("binds the chain, the ledger and every field of the batch", () => {
    const digests = [
      batchDigest(VECTOR_BATCH, domain),
      batchDigest(VECTOR_BATCH, ledgerDomain(1, VECTOR_LEDGER)),
      batchDigest(VECTOR_BATCH, ledgerDomain(31337, accounts[0]?.address ?? "0x")),
      batchDigest({ ...VECTOR_BATCH, batchId: 43n }, domain),
      batchDigest({ ...VECTOR_BATCH, root: keccak256(stringToHex("x")) }, domain),
      batchDigest({ ...VECTOR_BATCH, count: 10_001 }, domain),
    ];
    expect(new Set(digests).size).toBe(digests.length);
  });

  it.each([
    ["a zero root", { root: `0x${"0".repeat(64)}` }],
    ["a zero count", { count: 0 }],
    ["a count above uint32", { count: 2 ** 32 }],
    ["a batch id above uint64", { batchId: 2n ** 64n }],
    ["a negative batch id", { batchId: -1n }],
    ["an uppercase root", { root: `0x${"AB".repeat(32)}` }],
  ])("refuses %s", (_name, changes) => {
    expect(() => batchDigest({ ...VECTOR_BATCH, ...changes } as SettlementBatch, domain)).toThrow();
  });

  it("accepts the largest batch id and count", () => {
    const batch = { ...VECTOR_BATCH, batchId: 2n ** 64n - 1n, count: 2 ** 32 - 1 };
    expect(SettlementBatch.parse(batch)).toEqual(batch);
    expect(batchDigest(batch, domain)).toMatch(/^0x[0-9a-f]{64}$/);
  });
});

describe("signBatch", () => {
  it("gives a low-s 65-byte signature that recovers to the verifier", async () => {
    for (const account of accounts) {
      const signed = await signBatch(VECTOR_BATCH, domain, account);
      expect(signed.signer).toBe(account.address);
      expect(signed.signature).toMatch(/^0x[0-9a-f]{128}(1b|1c)$/);
      expect(hexToBigInt(`0x${signed.signature.slice(66, 130)}`) <= HALF_N).toBe(true);
      expect(await recoverBatchSigner(VECTOR_BATCH, domain, signed.signature)).toEqual({
        ok: true,
        signer: account.address,
      });
      // RFC 6979: the same batch and key always give the same signature.
      expect((await signBatch(VECTOR_BATCH, domain, account)).signature).toBe(signed.signature);
    }
  });

  it("recovers to someone else when the batch or the ledger differs", async () => {
    const [account] = accounts;
    if (!account) throw new Error("no test account");
    const { signature } = await signBatch(VECTOR_BATCH, domain, account);
    const otherRoot = { ...VECTOR_BATCH, root: keccak256(stringToHex("other")) };
    for (const recovered of [
      await recoverBatchSigner(otherRoot, domain, signature),
      await recoverBatchSigner(VECTOR_BATCH, ledgerDomain(1, VECTOR_LEDGER), signature),
    ]) {
      expect(recovered.ok).toBe(true);
      expect(recovered.ok && recovered.signer).not.toBe(account.address);
    }
  });
});

describe("recoverBatchSigner", () => {
  it.each([
    ["a 64-byte signature", `0x${"11".repeat(64)}`],
    ["an uppercase signature", `0x${"AB".repeat(64)}1b`],
    ["a signature whose r is zero", `0x${"00".repeat(32)}${"11".repeat(32)}1b`],
  ])("refuses %s as bad_signature", async (_name, signature) => {
    expect(await recoverBatchSigner(VECTOR_BATCH, domain, signature as Hex)).toMatchObject({
      ok: false,
      reason: "bad_signature",
    });
  });
});

describe("settlementSignatures", () => {
  const signedBy = (address: string, signature: Hex): BatchSignature => ({
    signer: address as Hex,
    signature,
  });

  it("orders signatures by signer address ascending, as settleBatch requires", async () => {
    const signed = await Promise.all(accounts.map((a) => signBatch(VECTOR_BATCH, domain, a)));
    const expected = [...signed]
      .sort((a, b) => (hexToBigInt(a.signer) < hexToBigInt(b.signer) ? -1 : 1))
      .map((s) => s.signature);
    expect(settlementSignatures(signed)).toEqual(expected);
    expect(settlementSignatures([...signed].reverse())).toEqual(expected);
  });

  it("compares addresses as numbers, not as mixed-case strings", () => {
    // "0xB..." < "0xa..." as strings, but 0xa... < 0xb... as numbers.
    const low = signedBy("0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "0x01");
    const high = signedBy("0xBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "0x02");
    expect(settlementSignatures([high, low])).toEqual(["0x01", "0x02"]);
  });

  it("refuses one verifier twice, whatever the address's case", () => {
    const a = signedBy("0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "0x01");
    const sameA = signedBy("0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "0x02");
    expect(() => settlementSignatures([a, sameA])).toThrow(
      expect.objectContaining({ reason: "duplicate_signer", path: "signatures" }),
    );
  });
});
