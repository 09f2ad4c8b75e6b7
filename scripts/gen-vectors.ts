// Regenerates the receipt test vectors from fixed inputs:
//   tsx scripts/gen-vectors.ts > test/vectors/receipts.json
// The tests never regenerate: they check the committed file, so a change in the
// protocol code that alters any byte shows up as a failing test, not a new vector.
// After regenerating, update the worked examples in docs/protocol.md to match.

import {
  canonicalJson,
  type NormalizedRequest,
  RECEIPT_DOMAIN,
  RECEIPT_TYPES,
  type Receipt,
  type ReceiptFailureReason,
  type ResponseContent,
  receiptDigest,
  requestHash,
  responseHash,
  signReceipt,
  type UnsignedReceipt,
  verifyReceipt,
} from "@verity/protocol";
import {
  domainSeparator,
  type Hex,
  hashStruct,
  keccak256,
  numberToHex,
  padHex,
  stringToBytes,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

// anvil's well-known account #9: public knowledge, for test vectors only.
const PRIVATE_KEY = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";
// anvil's account #0, used as "some other node".
const OTHER_NODE = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const account = privateKeyToAccount(PRIVATE_KEY);

const encodedType = `Receipt(${RECEIPT_TYPES.Receipt.map((f) => `${f.type} ${f.name}`).join(",")})`;

interface Example {
  name: string;
  description: string;
  request: NormalizedRequest;
  response: ResponseContent;
  backend: string;
  inferenceId: string;
  createdAt: number;
}

const examples: Example[] = [
  {
    name: "chat",
    description:
      "A chat completion: non-ASCII text (é, emoji outside the BMP), a quote and a newline to escape, a seed above 2^31.",
    request: {
      kind: "chat",
      model: "@cf/meta/llama-3.1-8b-instruct",
      messages: [
        { role: "system", content: "You are a terse assistant." },
        { role: "user", content: 'Say "hello" in French. Café ☕ 🚀' },
      ],
      temperature: 0.7,
      top_p: 1,
      max_tokens: 64,
      seed: 3735928559,
      stop: ["\n\n"],
    },
    response: { kind: "chat", content: "Bonjour ! 👋", finish_reason: "stop" },
    backend: "workers-ai",
    inferenceId: "019b76da-a800-7c1f-9a2b-4d3e5f607182",
    createdAt: 1767225600000,
  },
  {
    name: "embedding",
    description:
      "An embedding request: numbers that print differently in ECMAScript and other languages (1e-7, 1, 0.30000000000000004, -0.000001).",
    request: {
      kind: "embedding",
      model: "@cf/baai/bge-small-en-v1.5",
      input: ["hello world", "Vérité"],
    },
    response: {
      kind: "embedding",
      embeddings: [
        [0.0123, -0.5, 1e-7, 0.30000000000000004],
        [1, -0.000001, 123.456, 0],
      ],
    },
    backend: "workers-ai",
    inferenceId: "019b76da-a87b-7e02-8f13-a1b2c3d4e5f6",
    createdAt: 1767225600123,
  },
];

async function positive(example: Example) {
  const unsigned: UnsignedReceipt = {
    version: 1,
    inferenceId: example.inferenceId,
    model: example.request.model,
    backend: example.backend,
    requestHash: requestHash(example.request),
    responseHash: responseHash(example.response),
    createdAt: example.createdAt,
    node: account.address,
  };
  const receipt = await signReceipt(unsigned, account);
  const outcome = await verifyReceipt(receipt, {
    request: example.request,
    response: example.response,
    trustedNodes: [account.address],
  });
  if (!outcome.ok) throw new Error(`${example.name}: ${outcome.reason} ${outcome.message}`);
  return {
    name: example.name,
    description: example.description,
    request: example.request,
    requestCanonical: canonicalJson(example.request),
    requestHash: unsigned.requestHash,
    response: example.response,
    responseCanonical: canonicalJson(example.response),
    responseHash: unsigned.responseHash,
    unsignedReceipt: unsigned,
    // The eight 32-byte words whose keccak256 is structHash, for debugging an implementation.
    encodedStruct: [
      keccak256(stringToBytes(encodedType)),
      keccak256(stringToBytes(unsigned.inferenceId)),
      keccak256(stringToBytes(unsigned.model)),
      keccak256(stringToBytes(unsigned.backend)),
      unsigned.requestHash,
      unsigned.responseHash,
      numberToHex(unsigned.createdAt, { size: 32 }),
      padHex(unsigned.node.toLowerCase() as Hex, { size: 32 }),
    ],
    structHash: hashStruct({
      types: RECEIPT_TYPES,
      primaryType: "Receipt",
      data: { ...unsigned, createdAt: BigInt(unsigned.createdAt) },
    }),
    digest: receiptDigest(unsigned),
    receipt,
  };
}

interface Negative {
  name: string;
  description: string;
  receipt: unknown;
  request?: NormalizedRequest;
  response?: ResponseContent;
  trustedNodes?: string[];
  expected: { ok: false; reason: ReceiptFailureReason };
}

function malleate(signature: Hex): Hex {
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = signature.slice(130) === "1b" ? "1c" : "1b";
  return `${signature.slice(0, 66)}${numberToHex(SECP256K1_N - s, { size: 32 }).slice(2)}${v}` as Hex;
}

async function negatives(chat: Example, embedding: Example, receipt: Receipt): Promise<Negative[]> {
  const signed = async (changes: Partial<UnsignedReceipt>) => {
    const { signature: _, ...unsigned } = receipt;
    return signReceipt({ ...unsigned, ...changes }, account);
  };
  const withoutSignature: Partial<Receipt> = { ...receipt };
  delete withoutSignature.signature;
  const list: Negative[] = [
    {
      name: "tampered_response",
      description: "The chat receipt with a response whose content was edited after signing.",
      receipt,
      request: chat.request,
      response: { kind: "chat", content: "Bonjour ! 👋 (edited)", finish_reason: "stop" },
      expected: { ok: false, reason: "response_hash_mismatch" },
    },
    {
      name: "tampered_request",
      description: "The chat receipt with a request whose seed was changed.",
      receipt,
      request: { ...(chat.request as NormalizedRequest & { kind: "chat" }), seed: 1 },
      response: chat.response,
      expected: { ok: false, reason: "request_hash_mismatch" },
    },
    {
      name: "tampered_model_field",
      description:
        "The chat receipt with its model field changed: the digest changes, so the signature recovers to another address.",
      receipt: { ...receipt, model: "@cf/meta/llama-3.3-70b-instruct-fp8-fast" },
      expected: { ok: false, reason: "signer_mismatch" },
    },
    {
      name: "tampered_created_at",
      description: "The chat receipt with createdAt moved by one millisecond.",
      receipt: { ...receipt, createdAt: receipt.createdAt + 1 },
      expected: { ok: false, reason: "signer_mismatch" },
    },
    {
      name: "claimed_by_other_node",
      description: "The chat receipt with node replaced by another address (signature unchanged).",
      receipt: { ...receipt, node: OTHER_NODE },
      expected: { ok: false, reason: "signer_mismatch" },
    },
    {
      name: "untrusted_node",
      description:
        "A valid receipt checked against a trusted-node list that does not contain its signer.",
      receipt,
      trustedNodes: [OTHER_NODE],
      expected: { ok: false, reason: "untrusted_node" },
    },
    {
      name: "high_s_signature",
      description:
        "The malleated twin of a valid signature (s' = n - s, v flipped): it recovers to the same key but is refused (EIP-2 low s).",
      receipt: { ...receipt, signature: malleate(receipt.signature) },
      expected: { ok: false, reason: "bad_signature" },
    },
    {
      name: "v_as_y_parity",
      description: "A valid signature with v written as 0/1 instead of 27/28.",
      receipt: {
        ...receipt,
        signature: `${receipt.signature.slice(0, 130)}${receipt.signature.endsWith("1b") ? "00" : "01"}`,
      },
      expected: { ok: false, reason: "bad_signature" },
    },
    {
      name: "r_not_on_curve",
      description: "A signature whose r (= 5) is not the x coordinate of any curve point.",
      receipt: {
        ...receipt,
        signature: `0x${"0".repeat(63)}5${receipt.signature.slice(66)}`,
      },
      expected: { ok: false, reason: "bad_signature" },
    },
    {
      name: "missing_signature",
      description: "The chat receipt without its signature.",
      receipt: withoutSignature,
      expected: { ok: false, reason: "malformed" },
    },
    {
      name: "lowercase_node",
      description: "The chat receipt with node in lowercase (not EIP-55 checksummed).",
      receipt: { ...receipt, node: receipt.node.toLowerCase() },
      expected: { ok: false, reason: "malformed" },
    },
    {
      name: "unknown_version",
      description: "A receipt claiming version 2.",
      receipt: { ...receipt, version: 2 },
      expected: { ok: false, reason: "malformed" },
    },
    {
      name: "model_mismatch",
      description:
        "A correctly signed receipt whose model field differs from the model of the request it commits to.",
      receipt: await signed({ model: "@cf/meta/llama-3.3-70b-instruct-fp8-fast" }),
      request: chat.request,
      expected: { ok: false, reason: "model_mismatch" },
    },
    {
      name: "kind_mismatch",
      description:
        "A correctly signed receipt committing to a chat request and to an embedding response.",
      receipt: await signed({ responseHash: responseHash(embedding.response) }),
      request: chat.request,
      response: embedding.response,
      expected: { ok: false, reason: "kind_mismatch" },
    },
  ];
  for (const n of list) {
    const outcome = await verifyReceipt(n.receipt, {
      request: n.request,
      response: n.response,
      trustedNodes: n.trustedNodes as `0x${string}`[] | undefined,
    });
    if (outcome.ok || outcome.reason !== n.expected.reason) {
      throw new Error(`${n.name}: expected ${n.expected.reason}, got ${JSON.stringify(outcome)}`);
    }
  }
  return list;
}

const [chat, embedding] = examples as [Example, Example];
const chatVector = await positive(chat);
const positives = [chatVector, await positive(embedding)];
const file = {
  description:
    "Verity receipt test vectors (docs/protocol.md). Regenerate with `tsx scripts/gen-vectors.ts > test/vectors/receipts.json`.",
  key: { privateKey: PRIVATE_KEY, address: account.address },
  eip712: {
    domain: RECEIPT_DOMAIN,
    domainType: "EIP712Domain(string name,string version)",
    domainSeparator: domainSeparator({ domain: RECEIPT_DOMAIN }),
    receiptType: encodedType,
    receiptTypeHash: keccak256(stringToBytes(encodedType)),
  },
  vectors: positives,
  negative: await negatives(chat, embedding, chatVector.receipt),
};

// stdout, so the script needs nothing from Node and typechecks with the Workers types.
console.log(JSON.stringify(file, null, 2));
