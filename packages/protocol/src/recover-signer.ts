import { type Address, type Hex, recoverAddress } from "viem";

// secp256k1 group order n and n/2: EIP-2 low-s keeps each message to one valid signature.
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const SECP256K1_HALF_N = SECP256K1_N >> 1n;

export type SignerRecovery = { ok: true; signer: Address } | { ok: false; message: string };

/**
 * Recovers the address that signed `digest`, accepting only the canonical form viem
 * produces: 65 bytes r || s || v, v in {27, 28}, r in range, s in the lower half of the
 * curve order. Never throws: a signature that is not canonical or recovers to no key is
 * `{ ok: false }`. The signature must already be 0x + 130 lowercase hex (`SignatureHex`).
 */
export async function recoverSigner(digest: Hex, signature: Hex): Promise<SignerRecovery> {
  const r = BigInt(signature.slice(0, 66));
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = signature.slice(130);
  if (v !== "1b" && v !== "1c") return { ok: false, message: `v is 0x${v}, not 27 or 28` };
  if (r === 0n || r >= SECP256K1_N) return { ok: false, message: "r is out of range" };
  if (s === 0n || s > SECP256K1_HALF_N) {
    return { ok: false, message: "s is zero or not in the lower half of the curve order" };
  }
  try {
    return { ok: true, signer: await recoverAddress({ hash: digest, signature }) };
  } catch (error) {
    return { ok: false, message: `signature does not recover to a key: ${String(error)}` };
  }
}
