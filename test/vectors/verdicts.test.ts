/// <reference types="vite/client" />
// Checks the committed verification-layer vectors against the implementation and the spec;
// never regenerates them (scripts/gen-verdict-vectors.ts does that, on purpose, by hand).
import {
  concat,
  domainSeparator,
  type Hex,
  hashTypedData,
  keccak256,
  numberToHex,
  padHex,
  recoverTypedDataAddress,
  stringToBytes,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import doc from "../../docs/protocol.md?raw";
import {
  Bytes32,
  canonicalJson,
  checksDigest,
  HEARTBEAT_TYPES,
  hashCanonical,
  heartbeatDigest,
  policyHash,
  RECEIPT_DOMAIN,
  receiptDigest,
  SignedHeartbeat,
  SignedTask,
  signHeartbeat,
  signTask,
  signVerdict,
  TASK_TYPES,
  taskDigest,
  VERDICT_OUTCOME_CODES,
  VERDICT_TYPES,
  Verdict,
  VerificationPolicy,
  verdictDigest,
  verdictOutcome,
  verifyHeartbeat,
  verifyTask,
  verifyVerdict,
} from "@verity/protocol";
import receiptsFile from "./receipts.json";
import verdictsFile from "./verdicts.json";

const Options = z.strictObject({
  coordinator: z.string(),
  self: z.string(),
  now: z.number(),
  maxAgeMs: z.number(),
});
const Vectors = z.strictObject({
  description: z.string(),
  key: z.strictObject({ privateKey: Bytes32, address: z.string() }),
  node: z.strictObject({ privateKey: Bytes32, address: z.string() }),
  eip712: z.strictObject({
    domain: z.strictObject({ name: z.string(), version: z.string() }),
    domainSeparator: Bytes32,
    verdictType: z.string(),
    verdictTypeHash: Bytes32,
    taskType: z.string(),
    taskTypeHash: Bytes32,
    heartbeatType: z.string(),
    heartbeatTypeHash: Bytes32,
  }),
  policy: z.strictObject({ policy: VerificationPolicy, canonical: z.string(), policyHash: Bytes32 }),
  task: z.strictObject({
    signedTask: SignedTask,
    payloadHash: Bytes32,
    receiptDigest: Bytes32,
    digest: Bytes32,
    options: Options,
  }),
  verdicts: z.array(
    z.strictObject({
      name: z.string(),
      description: z.string(),
      checksCanonical: z.string(),
      checksDigest: Bytes32,
      outcomeCode: z.number(),
      digest: Bytes32,
      verdict: Verdict,
    }),
  ),
  heartbeat: z.strictObject({ signedHeartbeat: SignedHeartbeat, digest: Bytes32 }),
  negative: z.strictObject({
    verdicts: z.array(
      z.strictObject({
        name: z.string(),
        description: z.string(),
        verdict: z.unknown(),
        expected: z.strictObject({ ok: z.literal(false), reason: z.string() }),
      }),
    ),
    tasks: z.array(
      z.strictObject({
        name: z.string(),
        description: z.string(),
        signedTask: z.unknown(),
        options: Options,
        expected: z.strictObject({ ok: z.literal(false), reason: z.string() }),
      }),
    ),
    heartbeats: z.array(
      z.strictObject({
        name: z.string(),
        description: z.string(),
        signedHeartbeat: z.unknown(),
        expected: z.strictObject({ ok: z.literal(false), reason: z.string() }),
      }),
    ),
  }),
});

const file = Vectors.parse(verdictsFile);
const account = privateKeyToAccount(file.key.privateKey);
const { task, signature: taskSignature } = file.task.signedTask;
const asOptions = (o: z.infer<typeof Options>) => ({
  ...o,
  coordinator: o.coordinator as Hex,
  self: o.self as Hex,
});
const typeString = (name: string, fields: readonly { name: string; type: string }[]) =>
  `${name}(${fields.map((f) => `${f.type} ${f.name}`).join(",")})`;

describe("test/vectors/verdicts.json", () => {
  it("signs with anvil account #8, and judges the chat receipt of receipts.json", () => {
    expect(account.address).toBe(file.key.address);
    expect(file.key.address).toBe("0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f");
    const chat = receiptsFile.vectors.find((v) => v.name === "chat");
    expect(task.receipt).toEqual(chat?.receipt);
    expect(task.request).toEqual(chat?.request);
    expect(task.response).toEqual(chat?.response);
  });

  it("states the EIP-712 domain and the Verdict, Task and Heartbeat type strings and hashes the code uses", () => {
    expect(file.eip712.domain).toEqual(RECEIPT_DOMAIN);
    expect(file.eip712.domainSeparator).toBe(domainSeparator({ domain: RECEIPT_DOMAIN }));
    expect(file.eip712.verdictType).toBe(typeString("Verdict", VERDICT_TYPES.Verdict));
    expect(file.eip712.taskType).toBe(typeString("Task", TASK_TYPES.Task));
    expect(file.eip712.heartbeatType).toBe(typeString("Heartbeat", HEARTBEAT_TYPES.Heartbeat));
    for (const [type, hash] of [
      [file.eip712.verdictType, file.eip712.verdictTypeHash],
      [file.eip712.taskType, file.eip712.taskTypeHash],
      [file.eip712.heartbeatType, file.eip712.heartbeatTypeHash],
    ] as const) {
      expect(keccak256(stringToBytes(type))).toBe(hash);
    }
  });

  it("recomputes the policy's canonical JSON and hash", () => {
    expect(canonicalJson(file.policy.policy)).toBe(file.policy.canonical);
    expect(policyHash(file.policy.policy)).toBe(file.policy.policyHash);
    expect(keccak256(stringToBytes(file.policy.canonical))).toBe(file.policy.policyHash);
  });

  describe("the task", () => {
    it("recomputes payloadHash, receiptDigest and digest, by hand and with viem", () => {
      expect(hashCanonical(task)).toBe(file.task.payloadHash);
      expect(receiptDigest(task.receipt)).toBe(file.task.receiptDigest);
      const structHash = keccak256(
        concat([
          file.eip712.taskTypeHash,
          keccak256(stringToBytes(task.inferenceId)),
          file.task.receiptDigest,
          file.task.payloadHash,
          padHex(task.verifier.toLowerCase() as Hex, { size: 32 }),
          numberToHex(task.issuedAt, { size: 32 }),
        ]),
      );
      const digest = keccak256(concat(["0x1901", file.eip712.domainSeparator, structHash]));
      expect(digest).toBe(file.task.digest);
      expect(taskDigest(task)).toBe(file.task.digest);
      expect(
        hashTypedData({
          domain: RECEIPT_DOMAIN,
          types: TASK_TYPES,
          primaryType: "Task",
          message: {
            inferenceId: task.inferenceId,
            receiptDigest: file.task.receiptDigest,
            payloadHash: file.task.payloadHash,
            verifier: task.verifier,
            issuedAt: BigInt(task.issuedAt),
          },
        }),
      ).toBe(file.task.digest);
    });

    it("re-signs to the same signature, which verifyTask accepts", async () => {
      expect((await signTask(task, account)).signature).toBe(taskSignature);
      expect(await verifyTask(file.task.signedTask, asOptions(file.task.options))).toEqual({
        ok: true,
        task,
        digest: file.task.digest,
      });
    });
  });

  for (const v of file.verdicts) {
    describe(`${v.name} verdict`, () => {
      it("recomputes checksDigest, the outcome and the digest, by hand and with viem", async () => {
        expect(canonicalJson(v.verdict.checks)).toBe(v.checksCanonical);
        expect(checksDigest(v.verdict.checks)).toBe(v.checksDigest);
        expect(v.verdict.checksDigest).toBe(v.checksDigest);
        expect(verdictOutcome(v.verdict.checks)).toBe(v.verdict.outcome);
        expect(VERDICT_OUTCOME_CODES[v.verdict.outcome]).toBe(v.outcomeCode);
        expect(v.verdict.receiptDigest).toBe(file.task.receiptDigest);
        expect(v.verdict.policyHash).toBe(file.policy.policyHash);
        const structHash = keccak256(
          concat([
            file.eip712.verdictTypeHash,
            keccak256(stringToBytes(v.verdict.inferenceId)),
            v.verdict.receiptDigest,
            numberToHex(v.outcomeCode, { size: 32 }),
            v.checksDigest,
            v.verdict.policyHash,
          ]),
        );
        expect(keccak256(concat(["0x1901", file.eip712.domainSeparator, structHash]))).toBe(v.digest);
        expect(verdictDigest(v.verdict)).toBe(v.digest);
        expect(
          await recoverTypedDataAddress({
            domain: RECEIPT_DOMAIN,
            types: VERDICT_TYPES,
            primaryType: "Verdict",
            message: { ...v.verdict, outcome: v.outcomeCode },
            signature: v.verdict.signature,
          }),
        ).toBe(file.key.address);
      });

      it("re-signs to the same signature, which verifyVerdict accepts", async () => {
        const { signature, ...unsigned } = v.verdict;
        expect((await signVerdict(unsigned, account)).signature).toBe(signature);
        expect(await verifyVerdict(v.verdict)).toEqual({
          ok: true,
          signer: file.key.address,
          digest: v.digest,
          verdict: v.verdict,
        });
      });
    });
  }

  it("covers a valid, an invalid and an abstaining verdict", () => {
    expect(file.verdicts.map((v) => v.verdict.outcome)).toEqual(["valid", "invalid", "abstain"]);
  });

  it("recomputes the heartbeat digest and re-signs it to the same signature", async () => {
    const { heartbeat, signature } = file.heartbeat.signedHeartbeat;
    expect(heartbeatDigest(heartbeat)).toBe(file.heartbeat.digest);
    expect(heartbeat.policyHash).toBe(file.policy.policyHash);
    expect((await signHeartbeat(heartbeat, account)).signature).toBe(signature);
    expect(await verifyHeartbeat(file.heartbeat.signedHeartbeat)).toMatchObject({
      ok: true,
      signer: file.key.address,
    });
  });

  for (const n of file.negative.verdicts) {
    it(`refuses the ${n.name} verdict with ${n.expected.reason}`, async () => {
      expect(await verifyVerdict(n.verdict)).toMatchObject(n.expected);
    });
  }
  for (const n of file.negative.tasks) {
    it(`refuses the ${n.name} task with ${n.expected.reason}`, async () => {
      expect(await verifyTask(n.signedTask, asOptions(n.options))).toMatchObject(n.expected);
    });
  }
  for (const n of file.negative.heartbeats) {
    it(`refuses the ${n.name} heartbeat with ${n.expected.reason}`, async () => {
      expect(await verifyHeartbeat(n.signedHeartbeat)).toMatchObject(n.expected);
    });
  }

  it("has a negative task vector for every refusal a verifier makes", () => {
    expect(new Set(file.negative.tasks.map((n) => n.expected.reason))).toEqual(
      new Set(["malformed", "bad_signature", "payload_mismatch", "wrong_coordinator", "wrong_verifier", "stale"]),
    );
  });
});

describe("docs/protocol.md, verification sections", () => {
  it("has the Verdicts, Verification tasks, Heartbeats and Policy sections in that order", () => {
    const order = ["## Verdicts", "## Verification tasks", "## Heartbeats", "## Policy"].map((h) =>
      doc.search(new RegExp(`^${h}$`, "m")),
    );
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it("states the type strings, type hashes, policy, digests and signatures of the vectors", () => {
    for (const value of [
      file.eip712.verdictType,
      file.eip712.verdictTypeHash,
      file.eip712.taskType,
      file.eip712.taskTypeHash,
      file.eip712.heartbeatType,
      file.eip712.heartbeatTypeHash,
      file.key.privateKey,
      file.key.address,
      file.policy.canonical,
      file.policy.policyHash,
      file.task.payloadHash,
      file.task.digest,
      taskSignature,
      file.heartbeat.digest,
      file.heartbeat.signedHeartbeat.signature,
      ...file.verdicts.flatMap((v) => [v.checksCanonical, v.checksDigest, v.digest, v.verdict.signature]),
    ]) {
      expect(doc).toContain(value);
    }
  });
});
