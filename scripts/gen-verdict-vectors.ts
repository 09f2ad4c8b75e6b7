// Regenerates test/vectors/verdicts.json from fixed inputs:
// `tsx scripts/gen-verdict-vectors.ts > test/vectors/verdicts.json`.
// The tests never regenerate: they check the committed file, so a change in the protocol code
// that alters any byte shows up as a failing test, not a new vector. After regenerating, update
// the worked examples in docs/protocol.md (Verdicts, Verification tasks, Heartbeats, Policy).

import {
  type CheckResult,
  canonicalJson,
  checksDigest,
  createVerificationPolicy,
  HEARTBEAT_TYPES,
  type Heartbeat,
  heartbeatDigest,
  type NormalizedRequest,
  policyHash,
  RECEIPT_DOMAIN,
  type ResponseContent,
  receiptDigest,
  requestHash,
  responseHash,
  signHeartbeat,
  signReceipt,
  signTask,
  signVerdict,
  TASK_TYPES,
  taskDigest,
  type UnsignedVerdict,
  VERDICT_OUTCOME_CODES,
  VERDICT_TYPES,
  type VerificationTask,
  verdictDigest,
  verifyHeartbeat,
  verifyTask,
  verifyVerdict,
} from "@verity/protocol";
import {
  type Address,
  domainSeparator,
  type Hex,
  keccak256,
  numberToHex,
  stringToBytes,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

// anvil's well-known accounts: public knowledge, for test vectors only. #8 signs every
// verdict, task and heartbeat here (in a real network the coordinator and each verifier have
// keys of their own); #9 is the inference node of test/vectors/receipts.json.
const KEY = "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97";
const NODE_KEY = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";
// anvil #7, "some other verifier".
const OTHER_VERIFIER: Address = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955";
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const account = privateKeyToAccount(KEY);
const node = privateKeyToAccount(NODE_KEY);
const typeString = (name: string, fields: readonly { name: string; type: string }[]) =>
  `${name}(${fields.map((f) => `${f.type} ${f.name}`).join(",")})`;

// The chat example of test/vectors/receipts.json: a non-deterministic Workers AI model.
const request: NormalizedRequest = {
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
};
const response: ResponseContent = { kind: "chat", content: "Bonjour ! 👋", finish_reason: "stop" };
const receipt = await signReceipt(
  {
    version: 1,
    inferenceId: "019b76da-a800-7c1f-9a2b-4d3e5f607182",
    model: request.model,
    backend: "workers-ai",
    requestHash: requestHash(request),
    responseHash: responseHash(response),
    createdAt: 1767225600000,
    node: node.address,
  },
  node,
);

const policy = createVerificationPolicy({
  inferenceNodes: [node.address],
  maxResponseChars: 32768,
  denyPatterns: ["\\bpassword\\s*[:=]"],
  embeddingMinCosine: 0.9999,
});

const task: VerificationTask = {
  inferenceId: receipt.inferenceId,
  request,
  response,
  usage: { prompt_tokens: 31, completion_tokens: 5 },
  receipt,
  verifier: account.address,
  issuedAt: 1767225601000,
};
const signedTask = await signTask(task, account);
const taskOptions = {
  coordinator: account.address,
  self: account.address,
  now: task.issuedAt,
  maxAgeMs: 60_000,
};

const verdictExamples: { name: string; description: string; checks: CheckResult[] }[] = [
  {
    name: "valid",
    description:
      "The receipt holds, the answer breaks no rule, and the model is not deterministic, so re-execution is skipped by design: valid.",
    checks: [
      { check: "receipt-integrity@1", status: "pass", reason: "ok" },
      { check: "rules@1", status: "pass", reason: "ok" },
      { check: "re-execution@1", status: "skip", reason: "not_deterministic" },
    ],
  },
  {
    name: "invalid",
    description:
      "The response the verifier was given does not hash to the receipt's responseHash: integrity fails, re-execution is not attempted, and the verdict is invalid.",
    checks: [
      { check: "receipt-integrity@1", status: "fail", reason: "response_hash_mismatch" },
      { check: "rules@1", status: "pass", reason: "ok" },
      { check: "re-execution@1", status: "skip", reason: "integrity_failed" },
    ],
  },
  {
    name: "abstain",
    description:
      "A verifier that does not know the model cannot tell whether it must re-execute it, so it abstains rather than guess.",
    checks: [
      { check: "receipt-integrity@1", status: "pass", reason: "ok" },
      { check: "rules@1", status: "pass", reason: "ok" },
      { check: "re-execution@1", status: "skip", reason: "model_unknown" },
    ],
  },
];

const verdicts = [];
for (const example of verdictExamples) {
  const unsigned: UnsignedVerdict = {
    version: 1,
    inferenceId: receipt.inferenceId,
    receiptDigest: receiptDigest(receipt),
    outcome: example.name as UnsignedVerdict["outcome"],
    checks: example.checks,
    checksDigest: checksDigest(example.checks),
    policyHash: policyHash(policy),
    verifier: account.address,
  };
  const verdict = await signVerdict(unsigned, account);
  const check = await verifyVerdict(verdict);
  if (!check.ok) throw new Error(`${example.name}: ${check.reason}`);
  verdicts.push({
    name: example.name,
    description: example.description,
    checksCanonical: canonicalJson(example.checks),
    checksDigest: unsigned.checksDigest,
    outcomeCode: VERDICT_OUTCOME_CODES[unsigned.outcome],
    digest: verdictDigest(unsigned),
    verdict,
  });
}

const heartbeat: Heartbeat = {
  verifier: account.address,
  url: "https://verifier-1.example.com",
  policyHash: policyHash(policy),
  models: ["verity-ngram-1", "verity-embed-1"],
  version: "0.1.0",
  timestamp: 1767225600000,
};
const signedHeartbeat = await signHeartbeat(heartbeat, account);

function highS(signature: Hex): Hex {
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = signature.slice(130) === "1b" ? "1c" : "1b";
  return `${signature.slice(0, 66)}${numberToHex(SECP256K1_N - s, { size: 32 }).slice(2)}${v}` as Hex;
}

const valid = verdicts[0]?.verdict;
if (!valid) throw new Error("no valid verdict");
const negativeVerdicts = [
  {
    name: "outcome_changed",
    description: "The valid verdict with its outcome changed to invalid after signing.",
    verdict: { ...valid, outcome: "invalid" },
    expected: { ok: false, reason: "signer_mismatch" },
  },
  {
    name: "checks_edited",
    description: "The valid verdict with a check turned into a failure after signing.",
    verdict: {
      ...valid,
      checks: valid.checks.map((c, i) =>
        i === 1 ? { ...c, status: "fail", reason: "denied_content" } : c,
      ),
    },
    expected: { ok: false, reason: "checks_digest_mismatch" },
  },
  {
    name: "claimed_by_other_verifier",
    description:
      "The valid verdict with verifier replaced by another address (signature unchanged).",
    verdict: { ...valid, verifier: OTHER_VERIFIER },
    expected: { ok: false, reason: "signer_mismatch" },
  },
  {
    name: "high_s_signature",
    description: "The malleated twin of the valid verdict's signature (s' = n - s, v flipped).",
    verdict: { ...valid, signature: highS(valid.signature) },
    expected: { ok: false, reason: "bad_signature" },
  },
  {
    name: "outcome_code",
    description: "The outcome written as its uint8 code instead of its name.",
    verdict: { ...valid, outcome: 1 },
    expected: { ok: false, reason: "malformed" },
  },
];
for (const n of negativeVerdicts) {
  const result = await verifyVerdict(n.verdict);
  if (result.ok || result.reason !== n.expected.reason)
    throw new Error(`${n.name}: ${JSON.stringify(result)}`);
}

const forOther = { ...task, verifier: OTHER_VERIFIER };
const mismatched = { ...task, inferenceId: "019b76da-a800-7c1f-9a2b-4d3e5f607183" };
const negativeTasks = [
  {
    name: "usage_altered",
    description:
      "The task with its usage changed after signing: payloadHash changes, so the signature recovers to another key.",
    signedTask: {
      ...signedTask,
      task: { ...task, usage: { prompt_tokens: 31, completion_tokens: 500 } },
    },
    options: taskOptions,
    expected: { ok: false, reason: "wrong_coordinator" },
  },
  {
    name: "other_coordinator",
    description: "The task checked by a verifier configured with another coordinator.",
    signedTask,
    options: { ...taskOptions, coordinator: OTHER_VERIFIER },
    expected: { ok: false, reason: "wrong_coordinator" },
  },
  {
    name: "other_verifier",
    description: "A correctly signed task addressed to another verifier.",
    signedTask: await signTask(forOther, account),
    options: taskOptions,
    expected: { ok: false, reason: "wrong_verifier" },
  },
  {
    name: "stale",
    description: "The task checked 60001 ms after it was issued, with maxAgeMs 60000.",
    signedTask,
    options: { ...taskOptions, now: task.issuedAt + 60_001 },
    expected: { ok: false, reason: "stale" },
  },
  {
    name: "payload_mismatch",
    description: "A signed task whose inferenceId is not its receipt's.",
    signedTask: {
      task: mismatched,
      signature: await account.sign({ hash: taskDigest(mismatched) }),
    },
    options: taskOptions,
    expected: { ok: false, reason: "payload_mismatch" },
  },
  {
    name: "v_as_y_parity",
    description: "The task's signature with v written as 0/1 instead of 27/28.",
    signedTask: {
      ...signedTask,
      signature: `${signedTask.signature.slice(0, 130)}${signedTask.signature.endsWith("1b") ? "00" : "01"}`,
    },
    options: taskOptions,
    expected: { ok: false, reason: "bad_signature" },
  },
  {
    name: "unsigned",
    description: "The task without a signature.",
    signedTask: { task },
    options: taskOptions,
    expected: { ok: false, reason: "malformed" },
  },
];
for (const n of negativeTasks) {
  const result = await verifyTask(n.signedTask, n.options);
  if (result.ok || result.reason !== n.expected.reason)
    throw new Error(`${n.name}: ${JSON.stringify(result)}`);
}

const movedHeartbeat = {
  ...signedHeartbeat,
  heartbeat: { ...heartbeat, url: "https://attacker.example.com" },
};
const heartbeatCheck = await verifyHeartbeat(movedHeartbeat);
if (heartbeatCheck.ok || heartbeatCheck.reason !== "signer_mismatch")
  throw new Error("moved heartbeat");

const file = {
  description:
    "Verity verification-layer test vectors (docs/protocol.md: Verdicts, Verification tasks, Heartbeats, Policy). Regenerate with `tsx scripts/gen-verdict-vectors.ts > test/vectors/verdicts.json`.",
  key: { privateKey: KEY, address: account.address },
  node: { privateKey: NODE_KEY, address: node.address },
  eip712: {
    domain: RECEIPT_DOMAIN,
    domainSeparator: domainSeparator({ domain: RECEIPT_DOMAIN }),
    verdictType: typeString("Verdict", VERDICT_TYPES.Verdict),
    verdictTypeHash: keccak256(stringToBytes(typeString("Verdict", VERDICT_TYPES.Verdict))),
    taskType: typeString("Task", TASK_TYPES.Task),
    taskTypeHash: keccak256(stringToBytes(typeString("Task", TASK_TYPES.Task))),
    heartbeatType: typeString("Heartbeat", HEARTBEAT_TYPES.Heartbeat),
    heartbeatTypeHash: keccak256(stringToBytes(typeString("Heartbeat", HEARTBEAT_TYPES.Heartbeat))),
  },
  policy: { policy, canonical: canonicalJson(policy), policyHash: policyHash(policy) },
  task: {
    signedTask,
    payloadHash: keccak256(stringToBytes(canonicalJson(task))),
    receiptDigest: receiptDigest(receipt),
    digest: taskDigest(task),
    options: taskOptions,
  },
  verdicts,
  heartbeat: { signedHeartbeat, digest: heartbeatDigest(heartbeat) },
  negative: {
    verdicts: negativeVerdicts,
    tasks: negativeTasks,
    heartbeats: [
      {
        name: "url_changed",
        description: "The heartbeat with its url changed after signing.",
        signedHeartbeat: movedHeartbeat,
        expected: { ok: false, reason: "signer_mismatch" },
      },
    ],
  },
};

// stdout, so the script needs nothing from Node and typechecks with the Workers types.
console.log(JSON.stringify(file, null, 2));
