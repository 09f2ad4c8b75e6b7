import { bytesToHex, type Hex, keccak256 as viemKeccak256 } from "viem";
import { describe, expect, it } from "vitest";
import { keccak256 } from "./keccak256";

// Lengths around Keccak-256's 136-byte block and the module's 16 KiB input buffer.
const LENGTHS = [0, 1, 31, 32, 64, 135, 136, 137, 272, 1000, 16_383, 16_384, 16_385, 100_000];

const bytesOf = (length: number, seed: number) =>
  Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 7 + (i >> 8)) & 0xff);

describe("keccak256 (WebAssembly)", () => {
  it.each(LENGTHS)("equals viem's keccak256 for %i bytes, as hex and as bytes", (length) => {
    const bytes = bytesOf(length, length);
    expect(keccak256(bytes)).toBe(viemKeccak256(bytes));
    expect(keccak256(bytesToHex(bytes))).toBe(viemKeccak256(bytesToHex(bytes)));
    expect(keccak256(bytes, "bytes")).toEqual(viemKeccak256(bytes, "bytes"));
  });

  it("gives the published digests of the empty input and of 'abc' (Keccak's, not SHA-3's)", () => {
    expect(keccak256("0x")).toBe(
      "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
    );
    expect(keccak256("0x616263")).toBe(
      "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45",
    );
  });

  it("hashes a 100 KB prompt right on repeat, and prints its throughput in this runtime", () => {
    // A figure, not a timed assertion: issue 16's aim is 100 MB/s in workerd and browsers.
    const prompt = bytesOf(100 * 1024, 5);
    const expected = viemKeccak256(prompt);
    const rounds = 50;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) expect(keccak256(prompt)).toBe(expected);
    const ms = (performance.now() - started) / rounds;
    console.log(
      `keccak256 of 100 KB: ${ms.toFixed(2)} ms, ${(prompt.length / 1e3 / ms).toFixed(0)} MB/s`,
    );
  });

  it("keeps no state between calls: a hash after a long input is unchanged, and the result is a copy", () => {
    const short: Hex = "0x0102";
    const before = keccak256(short);
    keccak256(bytesOf(50_000, 3));
    const result = keccak256(short, "bytes");
    keccak256(bytesOf(64, 9));
    expect(bytesToHex(result)).toBe(before);
  });
});
