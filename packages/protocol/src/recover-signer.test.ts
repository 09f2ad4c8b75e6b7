import { type Hex, keccak256, numberToHex, stringToBytes } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { recoverSigner } from "./recover-signer";

const account = privateKeyToAccount(
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
);
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const digest = keccak256(stringToBytes("message"));

describe("recoverSigner", () => {
  it("recovers the signer of a canonical signature", async () => {
    const signature = await account.sign({ hash: digest });
    expect(await recoverSigner(digest, signature)).toEqual({ ok: true, signer: account.address });
  });

  it("refuses the high-s twin, a v of 0/1, a zero r and an r off the curve", async () => {
    const signature = await account.sign({ hash: digest });
    const s = BigInt(`0x${signature.slice(66, 130)}`);
    const flipped = signature.endsWith("1b") ? "1c" : "1b";
    const bad: Hex[] = [
      `${signature.slice(0, 66)}${numberToHex(N - s, { size: 32 }).slice(2)}${flipped}` as Hex,
      `${signature.slice(0, 130)}01` as Hex,
      `0x${"0".repeat(64)}${signature.slice(66)}` as Hex,
      `0x${"0".repeat(63)}5${signature.slice(66)}` as Hex,
    ];
    for (const sig of bad) expect(await recoverSigner(digest, sig)).toMatchObject({ ok: false });
  });
});
