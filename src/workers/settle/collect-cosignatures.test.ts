import { signBatchProposal } from "@verity/protocol/batch-proposal";
import { ledgerDomain, type SettlementBatch, signBatch } from "@verity/protocol/settlement-batch";
import { type Address, type Hex, keccak256, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterEach, describe, expect, it, vi } from "vitest";
import { decidedRound } from "../../../test/settle/network";
import type { VerifierEntry } from "../../db/verifier-registry";
import { collectCosignatures } from "./collect-cosignatures";

afterEach(() => {
  vi.restoreAllMocks();
});

const key = (label: string) => privateKeyToAccount(keccak256(stringToHex(`cosign test ${label}`)));
const [alice, bob, stranger] = [key("alice"), key("bob"), key("stranger")];
const registered = new Set<Address>([alice.address, bob.address]);
const LEDGER = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const domain = ledgerDomain(31337, LEDGER);
const batch: SettlementBatch = {
  batchId: 9n,
  root: keccak256(stringToHex("a root")),
  count: 1,
};

type Answer = () => Promise<Response> | Response;

/** Verifiers at `http://v-N.test` answering as given; records the order they were asked in. */
function verifiersAnswering(answers: Answer[]) {
  const asked: number[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const index = Number(new URL(request.url).hostname.match(/^v-(\d+)\.test$/)?.[1]);
    expect(new URL(request.url).pathname).toBe("/v1/batches/sign");
    asked.push(index);
    const answer = answers[index];
    if (!answer) throw new TypeError("fetch failed");
    return answer();
  });
  const verifiers: VerifierEntry[] = answers.map((_, i) => ({
    address: stranger.address,
    url: `http://v-${i}.test`,
  }));
  return { asked, verifiers };
}

const signedBy = (account: typeof alice, claimed?: Hex) => async () => {
  const signature = await signBatch(batch, domain, account);
  return Response.json({ signer: claimed ?? signature.signer, signature: signature.signature });
};

const collect = async (verifiers: VerifierEntry[], quorum = 2) =>
  collectCosignatures({
    verifiers,
    request: {
      batch: { batchId: "9", root: batch.root, count: 1 },
      chainId: 31337,
      ledger: LEDGER,
      outcomes: [await decidedRound()],
    },
    proposal: await signBatchProposal({ batchId: "9", root: batch.root, count: 1 }, domain, alice),
    batch,
    domain,
    quorum,
    isRegistered: async (signer) => registered.has(signer),
  });

describe("collectCosignatures", () => {
  it("asks only as many verifiers as signatures are missing when they all sign", async () => {
    const { asked, verifiers } = verifiersAnswering([
      signedBy(alice),
      signedBy(bob),
      signedBy(alice),
    ]);
    const result = await collect(verifiers);
    expect(asked.sort()).toEqual([0, 1]);
    expect(result.signatures.map((s) => s.signer).sort()).toEqual(
      [alice.address, bob.address].sort(),
    );
    expect(result.refusals).toEqual([]);
  });

  it("counts only distinct registered signers whose signature recovers to the signer named", async () => {
    const { asked, verifiers } = verifiersAnswering([
      signedBy(stranger),
      () => Response.json({ hello: "world" }),
      () =>
        Response.json(
          { error: { code: "root_mismatch", message: "The outcomes make another root." } },
          { status: 409 },
        ),
      signedBy(alice),
      signedBy(alice),
      signedBy(stranger, bob.address),
      signedBy(bob),
    ]);
    const result = await collect(verifiers);
    expect(asked).toHaveLength(7);
    expect(result.signatures.map((s) => s.signer).sort()).toEqual(
      [alice.address, bob.address].sort(),
    );
    expect(result.refusals).toEqual([
      `${stranger.address} signed as ${stranger.address}, which the registry does not list`,
      `${stranger.address} answered with something that is not a co-signature`,
      `${stranger.address} answered 409 root_mismatch: The outcomes make another root.`,
      `${stranger.address} signed as ${alice.address}, who has signed already`,
      `${stranger.address} names ${bob.address} but its signature is by ${stranger.address}`,
    ]);
  });

  it("returns what it has when the verifiers run out, with why each one failed", async () => {
    const { verifiers } = verifiersAnswering([
      signedBy(alice),
      () => Promise.reject(new TypeError("fetch failed")),
    ]);
    const result = await collect(verifiers);
    expect(result.signatures).toHaveLength(1);
    expect(result.refusals).toEqual([
      `${stranger.address} did not answer: TypeError: fetch failed`,
    ]);
  });
});
