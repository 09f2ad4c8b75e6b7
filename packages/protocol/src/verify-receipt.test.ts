import { numberToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { newInferenceId } from "./inference-id";
import { type Receipt, receiptDigest, signReceipt, type UnsignedReceiptV1 } from "./receipt";
import { type NormalizedChatRequest, requestHash } from "./request";
import { type ChatResponseContent, type EmbeddingResponseContent, responseHash } from "./response";
import { verifyReceipt } from "./verify-receipt";

const node = privateKeyToAccount(
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
);
const OTHER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const request: NormalizedChatRequest = {
  kind: "chat",
  model: "@cf/meta/llama-3.1-8b-instruct",
  messages: [{ role: "user", content: "2+2?" }],
  temperature: 0,
  top_p: 1,
  max_tokens: 8,
  seed: 7,
  stop: [],
};
const response: ChatResponseContent = { kind: "chat", content: "4", finish_reason: "stop" };

const sign = (changes: Partial<UnsignedReceiptV1> = {}) =>
  signReceipt(
    {
      version: 1,
      inferenceId: newInferenceId(),
      model: request.model,
      backend: "reference",
      requestHash: requestHash(request),
      responseHash: responseHash(response),
      createdAt: 1767225600000,
      node: node.address,
      ...changes,
    },
    node,
  );

const withSignature = (receipt: Receipt, signature: string) => ({ ...receipt, signature });

describe("verifyReceipt", () => {
  it("accepts a genuine receipt with its request, response and trusted node, returning signer and digest", async () => {
    const receipt = await sign();
    const result = await verifyReceipt(receipt, {
      request,
      response,
      trustedNodes: [node.address],
    });
    expect(result).toEqual({
      ok: true,
      signer: node.address,
      digest: receiptDigest(receipt),
      receipt,
    });
  });

  it("accepts a receipt on its own, and trusted nodes compared case-insensitively", async () => {
    const receipt = await sign();
    expect((await verifyReceipt(receipt)).ok).toBe(true);
    const lower = node.address.toLowerCase() as `0x${string}`;
    expect((await verifyReceipt(receipt, { trustedNodes: [OTHER, lower] })).ok).toBe(true);
  });

  it("accepts a receipt that went through JSON (what is stored and sent)", async () => {
    const receipt = JSON.parse(JSON.stringify(await sign())) as unknown;
    expect((await verifyReceipt(receipt, { request, response })).ok).toBe(true);
  });

  it.each([
    ["undefined", undefined],
    ["null", null],
    ["a string", "receipt"],
    ["an array", []],
    ["an empty object", {}],
  ])("reports malformed for %s instead of throwing", async (_, input) => {
    expect(await verifyReceipt(input)).toMatchObject({ ok: false, reason: "malformed" });
  });

  it("reports malformed, naming the field, for a receipt with a bad field", async () => {
    const result = await verifyReceipt({ ...(await sign()), node: node.address.toLowerCase() });
    expect(result).toMatchObject({ ok: false, reason: "malformed" });
    expect(!result.ok && result.message).toMatch(/^receipt\.node: /);
  });

  it("reports invalid_options for a malformed request, response or trusted-node list", async () => {
    const receipt = await sign();
    const cases: unknown[] = [
      { request: { ...request, stream: true } },
      { response: { kind: "chat", content: "4" } },
      { trustedNodes: "0xabc" },
    ];
    for (const options of cases) {
      expect(await verifyReceipt(receipt, options as never)).toMatchObject({
        ok: false,
        reason: "invalid_options",
      });
    }
  });

  it("reports bad_signature for v outside {27, 28}, r or s out of range, high s, and r off the curve", async () => {
    const receipt = await sign();
    const sig = receipt.signature;
    const r = sig.slice(2, 66);
    const s = BigInt(`0x${sig.slice(66, 130)}`);
    const v = sig.slice(130);
    const hex = (x: bigint) => numberToHex(x, { size: 32 }).slice(2);
    const flippedV = v === "1b" ? "1c" : "1b";
    const bad = [
      `0x${r}${hex(s)}${v === "1b" ? "00" : "01"}`,
      `0x${r}${hex(s)}1d`,
      `0x${hex(0n)}${hex(s)}${v}`,
      `0x${hex(N)}${hex(s)}${v}`,
      `0x${r}${hex(0n)}${v}`,
      `0x${r}${hex(N - s)}${flippedV}`,
      `0x${hex(5n)}${hex(s)}${v}`,
    ];
    for (const signature of bad) {
      expect(await verifyReceipt(withSignature(receipt, signature))).toMatchObject({
        ok: false,
        reason: "bad_signature",
      });
    }
  });

  it("reports signer_mismatch when any signed field is altered after signing", async () => {
    const receipt = await sign();
    const tampered: Partial<Receipt>[] = [
      { inferenceId: newInferenceId() },
      { model: "gpt-4o" },
      { backend: "workers-ai" },
      { requestHash: responseHash(response) },
      { responseHash: requestHash(request) },
      { createdAt: receipt.createdAt + 1 },
      { node: OTHER },
    ];
    for (const change of tampered) {
      expect(await verifyReceipt({ ...receipt, ...change })).toMatchObject({
        ok: false,
        reason: "signer_mismatch",
      });
    }
  });

  it("reports untrusted_node when the signer is not in trustedNodes, even an empty list", async () => {
    const receipt = await sign();
    for (const trustedNodes of [[OTHER], []] as const) {
      expect(await verifyReceipt(receipt, { trustedNodes })).toMatchObject({
        ok: false,
        reason: "untrusted_node",
      });
    }
  });

  it("reports request_hash_mismatch for any other request, even one differing only in seed", async () => {
    const receipt = await sign();
    expect(await verifyReceipt(receipt, { request: { ...request, seed: 8 } })).toMatchObject({
      ok: false,
      reason: "request_hash_mismatch",
    });
  });

  it("reports response_hash_mismatch for edited content or finish reason", async () => {
    const receipt = await sign();
    for (const edited of [
      { ...response, content: "5" },
      { ...response, finish_reason: "length" as const },
    ]) {
      expect(await verifyReceipt(receipt, { request, response: edited })).toMatchObject({
        ok: false,
        reason: "response_hash_mismatch",
      });
    }
  });

  it("reports model_mismatch when a node signs a model other than the request's", async () => {
    const receipt = await sign({ model: "bigger-model" });
    expect(await verifyReceipt(receipt, { request })).toMatchObject({
      ok: false,
      reason: "model_mismatch",
    });
  });

  it("reports kind_mismatch when a node commits a chat request to an embedding response", async () => {
    const embedding: EmbeddingResponseContent = { kind: "embedding", embeddings: [[1, 2]] };
    const receipt = await sign({ responseHash: responseHash(embedding) });
    expect(await verifyReceipt(receipt, { request, response: embedding })).toMatchObject({
      ok: false,
      reason: "kind_mismatch",
    });
  });

  it("never throws, whatever it is given", async () => {
    const receipt = await sign();
    expect((await verifyReceipt(receipt, null as never)).ok).toBe(true);
    const inputs: [unknown, unknown][] = [
      [receipt, 42],
      [receipt, { request: null, response: undefined, trustedNodes: [1, null] }],
      [{ ...receipt, signature: 5 }, {}],
      [{ ...receipt, createdAt: 2 ** 70 }, {}],
      [new Proxy({}, { get: () => 1 }), {}],
      [Object.create(null), {}],
    ];
    for (const [input, options] of inputs) {
      const result = await verifyReceipt(input, options as never);
      expect(result.ok).toBe(false);
    }
  });
});
