import {
  type Address,
  getAddress,
  type Hex,
  hashTypedData,
  type LocalAccount,
  recoverTypedDataAddress,
} from "viem";
import { z } from "zod";
import { ProtocolError } from "./protocol-error";
import { Bytes32, SignatureHex } from "./receipt";

/** The EIP-712 domain name and version of `VerityLedger`. */
export const LEDGER_DOMAIN_NAME = "Verity Ledger";
export const LEDGER_DOMAIN_VERSION = "1";

/** The EIP-712 types verifiers sign to settle a batch; the primary type is `Batch`. */
export const BATCH_TYPES = {
  Batch: [
    { name: "batchId", type: "uint64" },
    { name: "root", type: "bytes32" },
    { name: "count", type: "uint32" },
  ],
} as const;

/**
 * The EIP-712 domain of one deployed ledger. Unlike receipts, settlement signatures are bound
 * to a chain and a contract: a quorum's signature cannot be replayed on another ledger.
 */
export function ledgerDomain(chainId: number, ledgerAddress: Address) {
  return {
    name: LEDGER_DOMAIN_NAME,
    version: LEDGER_DOMAIN_VERSION,
    chainId,
    verifyingContract: getAddress(ledgerAddress),
  } as const;
}
export type LedgerDomain = ReturnType<typeof ledgerDomain>;

const MAX_UINT64 = 2n ** 64n - 1n;
const MAX_UINT32 = 2 ** 32 - 1;
const ZERO_ROOT = `0x${"0".repeat(64)}`;

/** What verifiers sign: a batch id, the StandardMerkleTree root of its records, and their count. */
export const SettlementBatch = z.strictObject({
  batchId: z.bigint().min(0n).max(MAX_UINT64),
  root: Bytes32.refine((root) => root !== ZERO_ROOT, "must not be zero (an empty tree)"),
  count: z.int().min(1).max(MAX_UINT32),
});
export type SettlementBatch = z.infer<typeof SettlementBatch>;

/** A verifier's signature of a batch, with the address that made it. */
export interface BatchSignature {
  signer: Address;
  signature: Hex;
}

/**
 * The EIP-712 digest of a batch under a ledger's domain: what `VerityLedger.batchDigest`
 * returns and what verifiers sign.
 *
 * @throws ZodError if the batch is malformed (root 0, count 0, out-of-range id): a bug in
 * the caller, which builds batches itself.
 */
export function batchDigest(batch: SettlementBatch, domain: LedgerDomain): Hex {
  return hashTypedData({
    domain,
    types: BATCH_TYPES,
    primaryType: "Batch",
    message: SettlementBatch.parse(batch),
  });
}

/**
 * Signs a batch as a verifier. The signature is 65 bytes r || s || v with low s, which is
 * what `VerityLedger.settleBatch` takes.
 *
 * @throws ZodError if the batch is malformed (see `batchDigest`).
 */
export async function signBatch(
  batch: SettlementBatch,
  domain: LedgerDomain,
  account: LocalAccount,
): Promise<BatchSignature> {
  const signature = await account.signTypedData({
    domain,
    types: BATCH_TYPES,
    primaryType: "Batch",
    message: SettlementBatch.parse(batch),
  });
  return { signer: account.address, signature };
}

export type BatchSignerRecovery =
  | { ok: true; signer: Address }
  | { ok: false; reason: "bad_signature"; message: string };

/**
 * The address that signed `signature` over `batch`, for checking a signature a verifier sent
 * before it is submitted. Never throws: a signature that is not 0x + 130 lowercase hex, or does
 * not recover to a key, is `bad_signature`.
 */
export async function recoverBatchSigner(
  batch: SettlementBatch,
  domain: LedgerDomain,
  signature: string,
): Promise<BatchSignerRecovery> {
  if (!SignatureHex.safeParse(signature).success) {
    return {
      ok: false,
      reason: "bad_signature",
      message: "batch signature must be 0x + 130 lowercase hex (r || s || v)",
    };
  }
  try {
    const signer = await recoverTypedDataAddress({
      domain,
      types: BATCH_TYPES,
      primaryType: "Batch",
      message: SettlementBatch.parse(batch),
      signature: signature as Hex,
    });
    return { ok: true, signer };
  } catch (cause) {
    return {
      ok: false,
      reason: "bad_signature",
      message: `batch signature does not recover to a key: ${String(cause)}`,
    };
  }
}

/**
 * The `signatures` argument of `settleBatch`: sorted by signer address ascending, which is how
 * the ledger checks that signers are distinct.
 *
 * @throws ProtocolError (`duplicate_signer`) if one signer appears twice.
 */
export function settlementSignatures(signatures: readonly BatchSignature[]): Hex[] {
  const sorted = signatures
    .map((s) => ({ key: BigInt(s.signer), signer: s.signer, signature: s.signature }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    const current = sorted[i];
    if (current && current.key === sorted[i - 1]?.key) {
      throw new ProtocolError(
        `verifier ${getAddress(current.signer)} signed twice`,
        "duplicate_signer",
        "signatures",
      );
    }
  }
  return sorted.map((s) => s.signature);
}
