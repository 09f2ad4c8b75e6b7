import { concat, type Hex, keccak256, numberToHex, padHex, stringToBytes } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { hashCanonical } from "./canonical";
import { receiptDigest, signReceipt } from "./receipt";
import { type NormalizedChatRequest, requestHash } from "./request";
import { type ChatResponseContent, responseHash } from "./response";
import {
  SignedTask,
  signTask,
  TASK_TYPES,
  taskDigest,
  type VerificationTask,
  verifyTask,
} from "./verification-task";

// anvil's well-known accounts: #9 the inference node, #8 the coordinator, #7 the verifier.
const node = privateKeyToAccount(
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
);
const coordinator = privateKeyToAccount(
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
);
const verifier = privateKeyToAccount(
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
);
const ISSUED_AT = 1_767_225_601_000;
const MAX_AGE = 60_000;

const request: NormalizedChatRequest = {
  kind: "chat",
  model: "verity-ngram-1",
  messages: [{ role: "user", content: "Define a verifier." }],
  temperature: 0,
  top_p: 1,
  max_tokens: 16,
  seed: 7,
  stop: [],
};
const response: ChatResponseContent = {
  kind: "chat",
  content: "one who checks.",
  finish_reason: "stop",
};

async function task(changes: Partial<VerificationTask> = {}): Promise<VerificationTask> {
  const inferenceId = "019b76da-a800-7c1f-9a2b-4d3e5f607182";
  const receipt = await signReceipt(
    {
      version: 1,
      inferenceId,
      model: request.model,
      backend: "reference",
      requestHash: requestHash(request),
      responseHash: responseHash(response),
      createdAt: ISSUED_AT - 1000,
      node: node.address,
    },
    node,
  );
  return {
    inferenceId,
    request,
    response,
    usage: { prompt_tokens: 5, completion_tokens: 4 },
    receipt,
    verifier: verifier.address,
    issuedAt: ISSUED_AT,
    ...changes,
  };
}

const options = {
  coordinator: coordinator.address,
  self: verifier.address,
  now: ISSUED_AT,
  maxAgeMs: MAX_AGE,
};

describe("taskDigest", () => {
  it("is the EIP-712 hash of Task with receiptDigest of the receipt and payloadHash of the whole task", async () => {
    const t = await task();
    const type =
      "Task(string inferenceId,bytes32 receiptDigest,bytes32 payloadHash,address verifier,uint64 issuedAt)";
    expect(`Task(${TASK_TYPES.Task.map((f) => `${f.type} ${f.name}`).join(",")})`).toBe(type);
    const structHash = keccak256(
      concat([
        keccak256(stringToBytes(type)),
        keccak256(stringToBytes(t.inferenceId)),
        receiptDigest(t.receipt),
        hashCanonical(t),
        padHex(t.verifier.toLowerCase() as Hex, { size: 32 }),
        numberToHex(t.issuedAt, { size: 32 }),
      ]),
    );
    const domain = keccak256(
      concat([
        keccak256(stringToBytes("EIP712Domain(string name,string version)")),
        keccak256(stringToBytes("Verity")),
        keccak256(stringToBytes("1")),
      ]),
    );
    expect(taskDigest(t)).toBe(keccak256(concat(["0x1901", domain, structHash])));
  });
});

describe("signTask and verifyTask", () => {
  it("accept a task signed by the coordinator, for this verifier, issued now", async () => {
    const signed = await signTask(await task(), coordinator);
    expect(SignedTask.parse(JSON.parse(JSON.stringify(signed)))).toEqual(signed);
    expect(await verifyTask(JSON.parse(JSON.stringify(signed)), options)).toEqual({
      ok: true,
      task: signed.task,
      digest: taskDigest(signed.task),
    });
  });

  it("refuse an unsigned task as malformed", async () => {
    expect(await verifyTask({ task: await task() }, options)).toMatchObject({
      ok: false,
      reason: "malformed",
    });
  });

  it("refuse a non-canonical signature with bad_signature", async () => {
    const signed = await signTask(await task(), coordinator);
    const v0 = `${signed.signature.slice(0, 130)}00`;
    expect(await verifyTask({ ...signed, signature: v0 }, options)).toMatchObject({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("refuse a task signed by another key with wrong_coordinator", async () => {
    const signed = await signTask(await task(), verifier);
    expect(await verifyTask(signed, options)).toMatchObject({
      ok: false,
      reason: "wrong_coordinator",
    });
  });

  it("refuse a task whose response was edited after signing with wrong_coordinator (its payloadHash changed)", async () => {
    const signed = await signTask(await task(), coordinator);
    const edited = {
      ...signed,
      task: { ...signed.task, response: { ...response, content: "edited" } },
    };
    expect(await verifyTask(edited, options)).toMatchObject({
      ok: false,
      reason: "wrong_coordinator",
    });
  });

  it("refuse a task for another verifier with wrong_verifier", async () => {
    const signed = await signTask(await task({ verifier: coordinator.address }), coordinator);
    expect(await verifyTask(signed, options)).toMatchObject({
      ok: false,
      reason: "wrong_verifier",
    });
  });

  it("refuse a task issued more than maxAgeMs before or after now as stale", async () => {
    const signed = await signTask(await task(), coordinator);
    expect(await verifyTask(signed, { ...options, now: ISSUED_AT + MAX_AGE })).toMatchObject({
      ok: true,
    });
    for (const now of [ISSUED_AT + MAX_AGE + 1, ISSUED_AT - MAX_AGE - 1]) {
      expect(await verifyTask(signed, { ...options, now })).toMatchObject({
        ok: false,
        reason: "stale",
      });
    }
  });

  it("refuse a task whose inferenceId is not its receipt's with payload_mismatch; signTask refuses to sign one", async () => {
    const t = await task();
    const other = { ...t, inferenceId: "019b76da-a800-7c1f-9a2b-4d3e5f607183" };
    await expect(signTask(other, coordinator)).rejects.toThrow(/carries the receipt/);
    const signature = await coordinator.sign({ hash: taskDigest(other) });
    expect(await verifyTask({ task: other, signature }, options)).toMatchObject({
      ok: false,
      reason: "payload_mismatch",
    });
  });
});
