import {
  BatchCoSignature,
  ledgerDomain,
  MAX_BATCH_OUTCOMES,
  type RoundOutcome,
  recoverBatchSigner,
  settlementBatchFromJson,
  signReceipt,
  verdictsDigest,
} from "@verity/protocol";
import { BATCH_PROPOSAL_HEADER } from "@verity/protocol/batch-proposal";
import { type Address, getAddress } from "viem";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  batchRequest,
  CHAIN_ID,
  downChain,
  LEDGER,
  type MockChain,
  mockChain,
  postBatch,
  proposalFor,
  roundOutcome,
  roundOutcomes,
  verdictBy,
  voters,
} from "../../../test/verify/batch";
import {
  nodeAccount,
  strangerAccount,
  verifierAddress,
  verifierEnv,
} from "../../../test/verify/inference";
import { createVerifierApp, MAX_BATCH_BYTES } from "./app";

afterEach(() => {
  vi.restoreAllMocks();
});

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

const [v0, v1, v2, v3, v4] = voters as [
  (typeof voters)[0],
  (typeof voters)[0],
  (typeof voters)[0],
  (typeof voters)[0],
  (typeof voters)[0],
];

/** The registry most tests use: voters 0-2 and this verifier, threshold 2. */
const registered = (threshold = 2n, verifiers: Address[] = [v0, v1, v2].map((v) => v.address)) =>
  mockChain({ verifiers: [...verifiers, verifierAddress], threshold });

const sign = async (
  body: unknown,
  chain: MockChain,
  overrides: Partial<VerifyEnv> = {},
  app = createVerifierApp(),
) => postBatch(app, body, { ...chain.env, ...overrides });

const refused = async (res: Response) => {
  const error = ((await res.json()) as ErrorBody).error;
  expect(Object.keys(error).sort()).toEqual(["code", "message", "param", "type"]);
  return { status: res.status, error };
};

/** An outcome with `change` applied to its verdicts, and `verdictsDigest` recomputed to match. */
const withVerdicts = (
  outcome: RoundOutcome,
  change: (verdicts: RoundOutcome["verdicts"]) => RoundOutcome["verdicts"],
): RoundOutcome => {
  const verdicts = change(outcome.verdicts);
  return { ...outcome, verdicts, verdictsDigest: verdictsDigest(verdicts) };
};

describe("POST /v1/batches/sign co-signs a batch it checked", () => {
  it("a batch of verified and rejected rounds is signed, and the signature recovers to this verifier under the ledger's domain", async () => {
    const chain = registered();
    const outcomes = [
      ...(await roundOutcomes(3)),
      ...(await roundOutcomes(2, { outcome: "rejected" })),
    ];
    const body = batchRequest(outcomes, "18446744073709551615");
    const res = await sign(body, chain);
    expect(res.status).toBe(200);
    const signature = BatchCoSignature.parse(await res.json());
    expect(signature.signer).toBe(verifierAddress);
    const batch = settlementBatchFromJson(body.batch);
    expect(batch.batchId).toBe(2n ** 64n - 1n);
    expect(
      await recoverBatchSigner(batch, ledgerDomain(CHAIN_ID, LEDGER), signature.signature),
    ).toEqual({ ok: true, signer: verifierAddress });
    // Read once: the chain id, the registered verifiers and the threshold.
    expect(chain.calls.sort()).toEqual(["eth_chainId", "threshold", "verifiers"]);
  });

  it("dissent, abstentions and verdicts of unregistered verifiers may be present, as long as a registered quorum agrees", async () => {
    const chain = registered();
    const outcome = await roundOutcome({
      votes: [
        [v0, "valid"],
        [v3, "valid"],
        [v1, "invalid"],
        [v4, "abstain"],
        [v2, "valid"],
      ],
    });
    const res = await sign(batchRequest([outcome]), chain);
    expect(res.status).toBe(200);
  });

  it("the outcomes may come in any order: StandardMerkleTree sorts leaves, so the root is the same", async () => {
    const chain = registered();
    const outcomes = await roundOutcomes(4);
    const body = { ...batchRequest(outcomes), outcomes: [...outcomes].reverse() };
    expect((await sign(body, chain)).status).toBe(200);
  });

  it("a full batch of MAX_BATCH_OUTCOMES outcomes fits the body limit and is checked and signed", async () => {
    const chain = registered();
    // Two agreeing votes each, the quorum: every signature is recovered, and 2,000 verdicts
    // instead of 3,000 take a quarter off the suite's single slowest test.
    const votes = [v0, v1].map((v): [typeof v, "valid"] => [v, "valid"]);
    const body = JSON.stringify(batchRequest(await roundOutcomes(MAX_BATCH_OUTCOMES, { votes })));
    expect(body.length).toBeLessThan(MAX_BATCH_BYTES / 4);
    const res = await sign(body, chain);
    expect(res.status).toBe(200);
    expect(BatchCoSignature.parse(await res.json()).signer).toBe(verifierAddress);
  }, 60_000);

  it("reuses one registry read for later batches, and counts signed batches in /v1/health", async () => {
    const chain = registered();
    const app = createVerifierApp();
    for (let i = 0; i < 3; i++) {
      const res = await sign(batchRequest(await roundOutcomes(2), String(i)), chain, {}, app);
      expect(res.status).toBe(200);
    }
    expect(chain.calls).toHaveLength(3);
    const health = (await (await app.request("/v1/health", {}, verifierEnv)).json()) as {
      batches: { signed: number };
    };
    expect(health.batches.signed).toBe(3);
  });
});

describe("POST /v1/batches/sign refuses what does not check out (409, the reason as code)", () => {
  it("a root that is not the outcomes' root: root_mismatch", async () => {
    const chain = registered();
    const body = batchRequest(await roundOutcomes(3));
    const tampered = { ...body, batch: { ...body.batch, root: `0x${"ab".repeat(32)}` } };
    expect(await refused(await sign(tampered, chain))).toMatchObject({
      status: 409,
      error: { code: "root_mismatch", param: "batch.root" },
    });
  });

  it("an outcome swapped for another after the root was made: root_mismatch", async () => {
    const chain = registered();
    const outcomes = await roundOutcomes(3);
    const body = batchRequest(outcomes);
    const other = await roundOutcome();
    const swapped = { ...body, outcomes: [outcomes[0], outcomes[1], other] };
    expect(await refused(await sign(swapped, chain))).toMatchObject({
      status: 409,
      error: { code: "root_mismatch" },
    });
  });

  it("a rejected round passed off as verified changes its leaf: root_mismatch, or insufficient_quorum if the root is remade", async () => {
    const chain = registered();
    const real = await roundOutcome({ outcome: "rejected" });
    const body = batchRequest([real]);
    const flipped = { ...real, outcome: "verified" as const };
    expect(await refused(await sign({ ...body, outcomes: [flipped] }, chain))).toMatchObject({
      error: { code: "root_mismatch" },
    });
    const remade = await refused(await sign(batchRequest([flipped]), chain));
    expect(remade).toMatchObject({ status: 409, error: { code: "insufficient_quorum" } });
    expect(remade.error.message).toContain(real.inferenceId);
  });

  it("a count that is not the number of outcomes: count_mismatch", async () => {
    const chain = registered();
    const outcomes = await roundOutcomes(3);
    const body = batchRequest(outcomes);
    expect(
      await refused(await sign({ ...body, batch: { ...body.batch, count: 4 } }, chain)),
    ).toMatchObject({ status: 409, error: { code: "count_mismatch", param: "batch.count" } });
    const fewer = { ...body, outcomes: outcomes.slice(0, 2) };
    expect(await refused(await sign(fewer, chain))).toMatchObject({
      error: { code: "count_mismatch" },
    });
  });

  it("the same inference twice: duplicate_inference", async () => {
    const chain = registered();
    const [a, b] = await roundOutcomes(2);
    if (!a || !b) throw new Error("two outcomes expected");
    const res = await sign(batchRequest([a, b, a]), chain);
    const { status, error } = await refused(res);
    expect({ status, code: error.code, param: error.param }).toEqual({
      status: 409,
      code: "duplicate_inference",
      param: "outcomes.2",
    });
    expect(error.message).toContain(a.inferenceId);
  });

  describe("quorum of registered verifiers", () => {
    it("verdicts only from keys the registry does not list: insufficient_quorum naming the inference", async () => {
      const chain = registered();
      const good = await roundOutcomes(2);
      const unregistered = await roundOutcome({
        votes: [
          [v3, "valid"],
          [v4, "valid"],
          [strangerAccount, "valid"],
        ],
      });
      const { status, error } = await refused(
        await sign(batchRequest([...good, unregistered]), chain),
      );
      expect(status).toBe(409);
      expect(error).toMatchObject({ code: "insufficient_quorum", param: "outcomes.2" });
      expect(error.message).toContain(unregistered.inferenceId);
    });

    it("one registered agreeing verdict where two are needed: insufficient_quorum", async () => {
      const chain = registered();
      const outcome = await roundOutcome({
        votes: [
          [v0, "valid"],
          [v1, "invalid"],
          [v2, "abstain"],
          [v3, "valid"],
        ],
      });
      expect(await refused(await sign(batchRequest([outcome]), chain))).toMatchObject({
        error: { code: "insufficient_quorum" },
      });
    });

    it("the same registered verifier twice counts once", async () => {
      const chain = registered();
      const outcome = await roundOutcome({
        votes: [
          [v0, "valid"],
          [v0, "valid"],
        ],
      });
      expect(await refused(await sign(batchRequest([outcome]), chain))).toMatchObject({
        error: { code: "insufficient_quorum" },
      });
    });

    it("the on-chain threshold raises the quorum above MIN_QUORUM", async () => {
      const outcome = await roundOutcome({
        votes: [
          [v0, "valid"],
          [v1, "valid"],
        ],
      });
      const body = batchRequest([outcome]);
      expect((await sign(body, registered(2n))).status).toBe(200);
      const refusal = await refused(await sign(body, registered(3n)));
      expect(refusal).toMatchObject({ error: { code: "insufficient_quorum" } });
      expect(refusal.error.message).toContain("3 are needed");
    });

    it("MIN_QUORUM raises the quorum above a lower on-chain threshold", async () => {
      const outcome = await roundOutcome({
        votes: [
          [v0, "valid"],
          [v1, "valid"],
        ],
      });
      const body = batchRequest([outcome]);
      expect((await sign(body, registered(1n))).status).toBe(200);
      expect(await refused(await sign(body, registered(1n), { MIN_QUORUM: "3" }))).toMatchObject({
        error: { code: "insufficient_quorum" },
      });
      // The default MIN_QUORUM is 2, whatever a threshold of 1 says.
      const single = await roundOutcome({ votes: [[v0, "valid"]] });
      expect(
        await refused(await sign(batchRequest([single]), registered(1n), { MIN_QUORUM: "" })),
      ).toMatchObject({ error: { code: "insufficient_quorum" } });
    });

    it("a verifier removed from the registry no longer counts", async () => {
      const outcome = await roundOutcome({
        votes: [
          [v0, "valid"],
          [v1, "valid"],
        ],
      });
      const chain = registered(2n, [v0.address, v2.address]);
      expect(await refused(await sign(batchRequest([outcome]), chain))).toMatchObject({
        error: { code: "insufficient_quorum" },
      });
    });
  });

  describe("verdicts", () => {
    it("a verdict whose signature is not its verifier's (forged): bad_verdict", async () => {
      const chain = registered();
      const real = await roundOutcome();
      // v2's verdict carrying a signature by v3: canonical, but of the wrong key.
      const byV3 = await verdictBy(v3, real, "valid");
      const forgery = withVerdicts(real, (verdicts) =>
        verdicts.map((v, i) => (i === 2 ? { ...v, signature: byV3.signature } : v)),
      );
      expect(forgery.verdicts[2]?.verifier).toBe(v2.address);
      const { status, error } = await refused(await sign(batchRequest([forgery]), chain));
      expect(status).toBe(409);
      expect(error).toMatchObject({ code: "bad_verdict", param: "outcomes.0.verdicts.2" });
      expect(error.message).toContain(v3.address);
    });

    it("a verdict with its outcome changed after signing: bad_verdict", async () => {
      const chain = registered();
      const real = await roundOutcome({
        votes: [
          [v0, "valid"],
          [v1, "invalid"],
        ],
      });
      const edited = withVerdicts(real, (verdicts) =>
        verdicts.map((v) => ({ ...v, outcome: "valid" as const })),
      );
      expect(await refused(await sign(batchRequest([edited]), chain))).toMatchObject({
        error: { code: "bad_verdict", param: "outcomes.0.verdicts.1" },
      });
    });

    it("a non-canonical verdict signature: bad_verdict", async () => {
      const chain = registered();
      const real = await roundOutcome();
      const mangled = withVerdicts(real, (verdicts) =>
        verdicts.map((v, i) =>
          i === 0 ? { ...v, signature: `0x${v.signature.slice(2, 130)}00` as const } : v,
        ),
      );
      expect(await refused(await sign(batchRequest([mangled]), chain))).toMatchObject({
        error: { code: "bad_verdict", param: "outcomes.0.verdicts.0" },
      });
    });

    it("a real verdict about another inference, copied in: bad_verdict", async () => {
      const chain = registered();
      const [a, b] = await roundOutcomes(2);
      if (!a || !b) throw new Error("two outcomes expected");
      const padded = withVerdicts(a, (verdicts) => [...verdicts, ...b.verdicts.slice(0, 1)]);
      expect(await refused(await sign(batchRequest([padded, b]), chain))).toMatchObject({
        error: { code: "bad_verdict", param: "outcomes.0.verdicts.3" },
      });
    });

    it("a verdictsDigest that does not commit to the verdicts: verdicts_digest_mismatch", async () => {
      const chain = registered();
      const [a, b] = await roundOutcomes(2);
      if (!a || !b) throw new Error("two outcomes expected");
      const tampered = { ...b, verdictsDigest: a.verdictsDigest };
      const { error } = await refused(await sign(batchRequest([a, tampered]), chain));
      expect(error).toMatchObject({
        code: "verdicts_digest_mismatch",
        param: "outcomes.1.verdictsDigest",
      });
      expect(error.message).toContain(b.inferenceId);
    });

    it("dropping a dissenting verdict changes verdictsDigest: verdicts_digest_mismatch", async () => {
      const chain = registered();
      const real = await roundOutcome({
        votes: [
          [v0, "valid"],
          [v1, "valid"],
          [v2, "invalid"],
        ],
      });
      const quiet = { ...real, verdicts: real.verdicts.slice(0, 2) };
      expect(await refused(await sign(batchRequest([quiet]), chain))).toMatchObject({
        error: { code: "verdicts_digest_mismatch" },
      });
    });
  });

  describe("receipts", () => {
    it("a receipt from a node this verifier does not trust: unknown_node", async () => {
      const chain = registered();
      const outcome = await roundOutcome({ node: strangerAccount });
      const { error } = await refused(await sign(batchRequest([outcome]), chain));
      expect(error).toMatchObject({ code: "unknown_node", param: "outcomes.0.receipt" });
      expect(error.message).toContain(strangerAccount.address);
    });

    it("a receipt altered after signing: bad_receipt", async () => {
      const chain = registered();
      const real = await roundOutcome();
      const altered = { ...real, receipt: { ...real.receipt, model: "verity-embed-1" } };
      expect(await refused(await sign(batchRequest([altered]), chain))).toMatchObject({
        status: 409,
        error: { code: "bad_receipt", param: "outcomes.0.receipt" },
      });
    });

    it("a receipt signed by another key in a trusted node's name: bad_receipt", async () => {
      const chain = registered();
      const real = await roundOutcome();
      const { signature: _, ...unsigned } = real.receipt;
      const other = await signReceipt(
        { ...unsigned, node: strangerAccount.address },
        strangerAccount,
      );
      const impostor = { ...real, receipt: { ...real.receipt, signature: other.signature } };
      expect(impostor.receipt.node).toBe(nodeAccount.address);
      expect(await refused(await sign(batchRequest([impostor]), chain))).toMatchObject({
        error: { code: "bad_receipt" },
      });
    });

    it("a receiptDigest that is not the receipt's: bad_receipt", async () => {
      const chain = registered();
      const [a, b] = await roundOutcomes(2);
      if (!a || !b) throw new Error("two outcomes expected");
      const wrong = { ...a, receiptDigest: b.receiptDigest };
      expect(await refused(await sign(batchRequest([wrong]), chain))).toMatchObject({
        error: { code: "bad_receipt", param: "outcomes.0.receiptDigest" },
      });
    });

    it("an outcome whose inference id is not its receipt's: bad_receipt", async () => {
      const chain = registered();
      const [a, b] = await roundOutcomes(2);
      if (!a || !b) throw new Error("two outcomes expected");
      const relabelled = { ...a, inferenceId: b.inferenceId };
      expect(await refused(await sign(batchRequest([relabelled]), chain))).toMatchObject({
        error: { code: "bad_receipt", param: "outcomes.0.receipt.inferenceId" },
      });
    });
  });

  it("another chain id: chain_mismatch; another ledger: unknown_ledger", async () => {
    const chain = registered();
    const body = batchRequest(await roundOutcomes(1));
    expect(await refused(await sign({ ...body, chainId: 1 }, chain))).toMatchObject({
      status: 409,
      error: { code: "chain_mismatch", param: "chainId" },
    });
    expect(
      await refused(await sign({ ...body, ledger: getAddress(strangerAccount.address) }, chain)),
    ).toMatchObject({ status: 409, error: { code: "unknown_ledger", param: "ledger" } });
    // Nothing was read from the chain for either.
    expect(chain.calls).toEqual([]);
  });
});

describe("POST /v1/batches/sign when the chain cannot be read", () => {
  it("an RPC endpoint that is down is 503 registry_unavailable, saying what failed", async () => {
    const chain = downChain();
    const { status, error } = await refused(
      await sign(batchRequest(await roundOutcomes(1)), chain),
    );
    expect(status).toBe(503);
    expect(error.code).toBe("registry_unavailable");
    expect(error.type).toBe("service_unavailable");
    expect(error.message).toMatch(/verifier registry could not be read.*Try again later/);
    expect(chain.calls.length).toBeGreaterThan(0);
  });

  it("an RPC endpoint on another chain is 503 verifier_misconfigured", async () => {
    const chain = mockChain({ verifiers: [v0.address, v1.address], threshold: 2n }, { chainId: 1 });
    const { status, error } = await refused(
      await sign(batchRequest(await roundOutcomes(1)), chain),
    );
    expect(status).toBe(503);
    expect(error.code).toBe("verifier_misconfigured");
    expect(error.message).toContain("RPC_URL serves chain 1, but CHAIN_ID is 31337");
  });

  it("no registry contract at REGISTRY_ADDRESS is 503 verifier_misconfigured", async () => {
    const chain = mockChain({ verifiers: [], threshold: 0n }, { empty: true });
    const { status, error } = await refused(
      await sign(batchRequest(await roundOutcomes(1)), chain),
    );
    expect(status).toBe(503);
    expect(error).toMatchObject({ code: "verifier_misconfigured" });
    expect(error.message).toContain("is not a VerifierRegistry");
  });

  it("a verifier without LEDGER_ADDRESS or REGISTRY_ADDRESS does not co-sign (503) but still answers health", async () => {
    const chain = registered();
    const body = batchRequest(await roundOutcomes(1));
    for (const unset of [{ LEDGER_ADDRESS: "" }, { REGISTRY_ADDRESS: "" }]) {
      const { status, error } = await refused(await sign(body, chain, unset));
      expect(status).toBe(503);
      expect(error.code).toBe("verifier_misconfigured");
      expect(error.message).toContain(Object.keys(unset)[0]);
    }
    const health = await createVerifierApp().request("/v1/health", {}, verifierEnv);
    expect(health.status).toBe(200);
  });
});

describe("POST /v1/batches/sign co-signs only what the registered settler proposes", () => {
  it("a request without the settler's signed proposal is 401, and nothing of it is read or checked", async () => {
    const chain = registered();
    const app = createVerifierApp();
    const body = batchRequest([await roundOutcome()]);
    // What any API-key holder could build from GET /v1/inferences/{id}: a real decided round.
    for (const headers of [{ [BATCH_PROPOSAL_HEADER]: "" }, { [BATCH_PROPOSAL_HEADER]: "{}" }]) {
      const res = await postBatch(app, body, chain.env, { headers });
      expect(await refused(res)).toMatchObject({
        status: 401,
        error: { code: "malformed_proposal", type: "authentication_error" },
      });
    }
    // Not even a body that is not JSON is looked at.
    const unread = await postBatch(app, "{not json", chain.env, {
      headers: { [BATCH_PROPOSAL_HEADER]: "" },
    });
    expect(unread.status).toBe(401);
    expect(chain.calls).toEqual([]);
    const health = (await (await app.request("/v1/health", {}, verifierEnv)).json()) as {
      batches: { signed: number; refused: Record<string, number> };
    };
    expect(health.batches).toMatchObject({ signed: 0, refused: { malformed_proposal: 3 } });
  });

  it("a proposal signed by anyone but SETTLER_ADDRESS is 403 not_the_settler; a forged one 401", async () => {
    const chain = registered();
    const body = batchRequest([await roundOutcome()]);
    const app = createVerifierApp();
    // An outsider's own key, and a registered verifier's: neither is the settler.
    for (const by of [strangerAccount, v0]) {
      const res = await postBatch(app, body, chain.env, {
        headers: { [BATCH_PROPOSAL_HEADER]: await proposalFor(body, by) },
      });
      expect(await refused(res)).toMatchObject({ status: 403, error: { code: "not_the_settler" } });
    }
    const genuine = JSON.parse(await proposalFor(body)) as { signature: string };
    const forged = { ...genuine, signature: `${genuine.signature.slice(0, 130)}1d` };
    const res = await postBatch(app, body, chain.env, {
      headers: { [BATCH_PROPOSAL_HEADER]: JSON.stringify(forged) },
    });
    expect(await refused(res)).toMatchObject({
      status: 401,
      error: { code: "bad_proposal_signature" },
    });
    expect(chain.calls).toEqual([]);
  });

  it("a body whose batch is not the one proposed is 400 proposal_mismatch: a proposal is not reusable", async () => {
    const chain = registered();
    const proposed = batchRequest(await roundOutcomes(2));
    const header = await proposalFor(proposed);
    const other = batchRequest([await roundOutcome()]);
    for (const body of [
      other,
      { ...proposed, batch: { ...proposed.batch, batchId: `${proposed.batch.batchId}0` } },
    ]) {
      const res = await postBatch(createVerifierApp(), body, chain.env, {
        headers: { [BATCH_PROPOSAL_HEADER]: header },
      });
      expect(await refused(res)).toMatchObject({
        status: 400,
        error: { code: "proposal_mismatch", param: "batch" },
      });
    }
    expect((await sign(proposed, chain)).status).toBe(200);
  });
});

describe("POST /v1/batches/sign co-signs each record into one batch only", () => {
  it("signs the same batch again, as a settler re-sending its transaction needs", async () => {
    const chain = registered();
    const body = batchRequest(await roundOutcomes(2));
    const first = await sign(body, chain);
    const again = await sign(body, chain);
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(await again.json()).toEqual(await first.json());
  });

  it("never co-signs a record into a second batch: 409 already_cosigned names it", async () => {
    const chain = registered();
    const [a, b] = (await roundOutcomes(2)) as [RoundOutcome, RoundOutcome];
    expect((await sign(batchRequest([a]), chain)).status).toBe(200);
    const res = await sign(batchRequest([b, a]), chain);
    expect(await refused(res)).toMatchObject({
      status: 409,
      error: { code: "already_cosigned", param: "outcomes.1" },
    });
    // Nothing of the refused batch was bound: b alone still signs.
    expect((await sign(batchRequest([b]), chain)).status).toBe(200);
  });

  it("never co-signs one batch id with a second root: 409 batch_id_reused", async () => {
    const chain = registered();
    const first = batchRequest([await roundOutcome()]);
    expect((await sign(first, chain)).status).toBe(200);
    const other = batchRequest([await roundOutcome()], first.batch.batchId);
    expect(await refused(await sign(other, chain))).toMatchObject({
      status: 409,
      error: { code: "batch_id_reused", param: "batch.batchId" },
    });
  });

  it("binds nothing when a batch does not check out", async () => {
    const chain = registered();
    const outcomes = await roundOutcomes(2);
    const body = batchRequest(outcomes);
    const wrongRoot = { ...body, batch: { ...body.batch, root: `0x${"ab".repeat(32)}` } };
    expect((await refused(await sign(wrongRoot, chain))).error.code).toBe("root_mismatch");
    expect((await sign(batchRequest(outcomes), chain)).status).toBe(200);
  });
});

describe("POST /v1/batches/sign validates the request at the edge (4xx, counted)", () => {
  it("bad JSON, a malformed batch id, unknown members and too many outcomes are 400 malformed; a non-JSON body 415", async () => {
    const chain = registered();
    const app = createVerifierApp();
    const outcome = await roundOutcome();
    const body = batchRequest([outcome]);
    const cases: [unknown, string | null][] = [
      ["{not json", null],
      [{ ...body, batch: { ...body.batch, batchId: "01" } }, "batch.batchId"],
      [{ ...body, batch: { ...body.batch, batchId: "18446744073709551616" } }, "batch.batchId"],
      [{ ...body, batch: { ...body.batch, batchId: 1 } }, "batch.batchId"],
      [{ ...body, batch: { ...body.batch, count: 0 } }, "batch.count"],
      [{ ...body, ledger: LEDGER.toLowerCase() }, "ledger"],
      [{ ...body, outcomes: [] }, "outcomes"],
      [{ ...body, outcomes: Array.from({ length: 1001 }, () => outcome) }, "outcomes"],
      [{ ...body, outcomes: [{ ...outcome, quorum: "2" }] }, "outcomes.0.quorum"],
      [{ ...body, signatures: [] }, "signatures"],
    ];
    for (const [bad, param] of cases) {
      expect(await refused(await sign(bad, chain, {}, app))).toMatchObject({
        status: 400,
        error: { code: "malformed", param },
      });
    }
    const plain = await postBatch(app, "x", chain.env, {
      headers: { "content-type": "text/plain" },
    });
    expect(await refused(plain)).toMatchObject({
      status: 415,
      error: { code: "unsupported_media_type" },
    });
    const health = (await (await app.request("/v1/health", {}, verifierEnv)).json()) as {
      batches: { refused: Record<string, number> };
      refused: Record<string, number>;
    };
    expect(health.batches.refused).toMatchObject({
      malformed: cases.length,
      unsupported_media_type: 1,
    });
    // Batch refusals are not task refusals.
    expect(health.refused.malformed).toBe(0);
    expect(chain.calls).toEqual([]);
  });

  it("a body over 32 MiB is 413 too_large", async () => {
    const chain = registered();
    const res = await sign(`{"pad":"${"x".repeat(32 * 1024 * 1024)}"}`, chain);
    expect(await refused(res)).toMatchObject({ status: 413, error: { code: "too_large" } });
  });

  it("counts each refusal by reason in /v1/health", async () => {
    const chain = registered();
    const app = createVerifierApp();
    const body = batchRequest(await roundOutcomes(2));
    await sign({ ...body, chainId: 5 }, chain, {}, app);
    await sign({ ...body, batch: { ...body.batch, count: 3 } }, chain, {}, app);
    await sign({ ...body, batch: { ...body.batch, count: 3 } }, chain, {}, app);
    expect((await sign(body, chain, {}, app)).status).toBe(200);
    const health = (await (await app.request("/v1/health", {}, verifierEnv)).json()) as {
      batches: { signed: number; refused: Record<string, number> };
    };
    expect(health.batches).toMatchObject({
      signed: 1,
      refused: { chain_mismatch: 1, count_mismatch: 2, root_mismatch: 0 },
    });
  });
});

describe("POST /v1/batches/sign fault modes", () => {
  it("wrong-key answers in its registered name with a signature by another key", async () => {
    const chain = registered();
    const body = batchRequest(await roundOutcomes(2));
    const res = await sign(body, chain, { FAULT_MODE: "wrong-key" });
    expect(res.status).toBe(200);
    const signature = BatchCoSignature.parse(await res.json());
    expect(signature.signer).toBe(verifierAddress);
    const recovered = await recoverBatchSigner(
      settlementBatchFromJson(body.batch),
      ledgerDomain(CHAIN_ID, LEDGER),
      signature.signature,
    );
    expect(recovered.ok).toBe(true);
    expect(recovered.ok && recovered.signer).not.toBe(verifierAddress);
  });

  it("always-invalid refuses to co-sign a correct batch", async () => {
    const chain = registered();
    const res = await sign(batchRequest(await roundOutcomes(2)), chain, {
      FAULT_MODE: "always-invalid",
    });
    expect(await refused(res)).toMatchObject({
      status: 409,
      error: { code: "fault_mode_refused" },
    });
  });

  it("silent holds the request open until the caller gives up", async () => {
    const chain = registered();
    const abort = new AbortController();
    const held = postBatch(
      createVerifierApp(),
      batchRequest(await roundOutcomes(1)),
      { ...chain.env, FAULT_MODE: "silent" },
      { signal: abort.signal },
    );
    const timeout = new Promise((resolve) => setTimeout(() => resolve("still waiting"), 500));
    expect(await Promise.race([held, timeout])).toBe("still waiting");
    abort.abort();
    expect((await held).status).toBe(504);
  });
});
