// Regenerates the protocol v2 test vectors from fixed inputs:
//   npx tsx scripts/gen-v2-vectors.ts > test/vectors/protocol-v2.json
// As with the other vectors, the tests never regenerate: they check the committed file, so a
// change that alters any byte of a v2 receipt, verdict, outcome or leaf fails a test. After
// regenerating, update the worked example in docs/protocol.md ("Protocol versions").

import {
  checksDigest,
  createVerificationPolicy,
  LEAF_OUTCOME,
  LEAF_TYPES,
  LEAF_TYPES_V2,
  type LeafValues,
  leafFromOutcome,
  leafHash,
  leafTuple,
  type NormalizedRequest,
  policyHash,
  RECEIPT_DOMAIN_V2,
  RECEIPT_TYPES_V2,
  type ResponseContent,
  type RoundOutcome,
  receiptDigest,
  requestHash,
  responseHash,
  roundStrength,
  signReceipt,
  signVerdict,
  type UnsignedReceipt,
  type UnsignedVerdict,
  VERDICT_TYPES_V2,
  verdictDigest,
  verdictsDigest,
} from "@verity/protocol";
import { domainSeparator, type Hex, keccak256, numberToHex, stringToBytes } from "viem";
import { privateKeyToAccount } from "viem/accounts";

// anvil's well-known accounts #9 (the node), #1 and #2 (two verifiers): public test keys.
const node = privateKeyToAccount(
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
);
const verifiers = [
  privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
  privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"),
];

const typeString = (name: string, fields: readonly { name: string; type: string }[]) =>
  `${name}(${fields.map((f) => `${f.type} ${f.name}`).join(",")})`;

const request: NormalizedRequest = {
  kind: "chat",
  model: "verity-ngram-1",
  messages: [{ role: "user", content: "Tell me about the sea. 🌊" }],
  temperature: 1,
  top_p: 1,
  max_tokens: 64,
  seed: 42,
  stop: [],
};
const response: ResponseContent = {
  kind: "chat",
  content: "The sea is deep.",
  finish_reason: "stop",
};

const unsignedReceipt: UnsignedReceipt = {
  version: 2,
  inferenceId: "019b76da-a800-7c1f-9a2b-4d3e5f607183",
  model: request.model,
  backend: "reference",
  requestHash: requestHash(request),
  responseHash: responseHash(response),
  createdAt: 1767225600000,
  node: node.address,
  // A pinned model and a price, as the issues that fill these fields will set them; a receipt
  // of today carries UNSET_MODEL_DIGEST and UNSET_FEE, which the second receipt shows.
  modelDigest: keccak256(stringToBytes("verity-ngram-1 build 2026-11-01")),
  fee: "1500000",
};
const receipt = await signReceipt(unsignedReceipt, node);
const unsetReceipt = await signReceipt(
  {
    ...unsignedReceipt,
    inferenceId: "019b76da-a800-7c1f-9a2b-4d3e5f607184",
    modelDigest: `0x${"00".repeat(32)}`,
    fee: "0",
  },
  node,
);
const digest = receiptDigest(receipt);
const word = (value: bigint | number) => numberToHex(value, { size: 32 });
const receiptWords: Hex[] = [
  keccak256(stringToBytes(typeString("Receipt", RECEIPT_TYPES_V2.Receipt))),
  keccak256(stringToBytes(receipt.inferenceId)),
  keccak256(stringToBytes(receipt.model)),
  keccak256(stringToBytes(receipt.backend)),
  receipt.requestHash,
  receipt.responseHash,
  word(receipt.createdAt),
  `0x${receipt.node.slice(2).toLowerCase().padStart(64, "0")}`,
  unsignedReceipt.modelDigest,
  word(BigInt(unsignedReceipt.fee)),
];

const policy = policyHash(
  createVerificationPolicy({
    inferenceNodes: [node.address],
    maxResponseChars: 32768,
    denyPatterns: [],
    embeddingMinCosine: 0.9999,
  }),
);
const checks = [
  { check: "receipt-integrity@1", status: "pass", reason: "ok" },
  { check: "rules@1", status: "pass", reason: "ok" },
  { check: "re-execution@1", status: "pass", reason: "ok" },
] as const;
const verdicts = await Promise.all(
  verifiers.map((account) => {
    const unsigned: UnsignedVerdict = {
      version: 2,
      inferenceId: receipt.inferenceId,
      receiptDigest: digest,
      outcome: "valid",
      checks: [...checks],
      checksDigest: checksDigest([...checks]),
      policyHash: policy,
      verifier: account.address,
      strength: "unset",
      strengthScore: 0,
    };
    return signVerdict(unsigned, account);
  }),
);

const outcome: RoundOutcome = {
  version: 2,
  inferenceId: receipt.inferenceId,
  outcome: "verified",
  receipt,
  receiptDigest: digest,
  quorum: 2,
  committee: verifiers.map((v) => v.address),
  verdicts,
  verdictsDigest: verdictsDigest(verdicts),
  decidedAt: 1767225601500,
  ...roundStrength({ outcome: "verified", verdicts }),
};
const leafV2 = leafFromOutcome(outcome);

// The version-1 leaf pinned in packages/protocol/src/merkle-leaf.test.ts: v1 records verify forever.
const leafV1: LeafValues = {
  version: 1,
  inferenceId: "019ab4c2-7d3e-7a10-9b2c-3f4e5d6c7b8a",
  requestHash: "0x1111111111111111111111111111111111111111111111111111111111111111",
  responseHash: "0x2222222222222222222222222222222222222222222222222222222222222222",
  model: "@cf/meta/llama-3.1-8b-instruct",
  inferenceNode: "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
  outcome: LEAF_OUTCOME.verified,
  verdictsDigest: "0x3333333333333333333333333333333333333333333333333333333333333333",
  createdAt: 1767225600000,
};

const { signature: _, ...unsignedVerdict } = verdicts[0] ?? {};

console.log(
  JSON.stringify(
    {
      description:
        "Verity protocol v2 test vectors (docs/protocol.md, 'Protocol versions'). Regenerate with `npx tsx scripts/gen-v2-vectors.ts > test/vectors/protocol-v2.json`.",
      keys: {
        node: node.address,
        verifiers: verifiers.map((v) => v.address),
      },
      eip712: {
        domain: RECEIPT_DOMAIN_V2,
        domainSeparator: domainSeparator({ domain: RECEIPT_DOMAIN_V2 }),
        receiptType: typeString("Receipt", RECEIPT_TYPES_V2.Receipt),
        verdictType: typeString("Verdict", VERDICT_TYPES_V2.Verdict),
      },
      receipt: {
        request,
        response,
        unsigned: unsignedReceipt,
        encodedStruct: receiptWords,
        digest,
        signed: receipt,
      },
      unsetReceipt: { signed: unsetReceipt, digest: receiptDigest(unsetReceipt) },
      verdict: { unsigned: unsignedVerdict, digest: verdictDigest(verdicts[0] as UnsignedVerdict) },
      outcome,
      leaves: [
        {
          name: "version 2, from the outcome above",
          types: LEAF_TYPES_V2,
          values: leafV2,
          tuple: leafTuple(leafV2),
          hash: leafHash(leafV2),
        },
        {
          name: "version 1, as settled before protocol v2",
          types: LEAF_TYPES,
          values: leafV1,
          tuple: leafTuple(leafV1),
          hash: leafHash(leafV1),
        },
      ],
    },
    null,
    2,
  ),
);
