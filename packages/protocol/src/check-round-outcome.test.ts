import { type Address, keccak256, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { decidedRound, verdictBy } from "../../../test/fixtures/decided-round";
import { checkOutcomeDigests, checkRoundOutcome, registeredAgreeing } from "./check-round-outcome";
import { type RoundOutcome, verdictsDigest } from "./round-outcome";

const account = (label: string) => privateKeyToAccount(keccak256(stringToHex(`check ${label}`)));
const node = account("node");
const [a, b, c] = [account("a"), account("b"), account("c")];
const registry = new Set<Address>([a.address, b.address, c.address]);
const options = {
  trustedNodes: [node.address],
  isRegistered: (verifier: Address) => registry.has(verifier),
  quorum: 2,
};

/** `outcome` with its verdicts changed and `verdictsDigest` recomputed to match. */
const revote = (outcome: RoundOutcome, verdicts: RoundOutcome["verdicts"]): RoundOutcome => ({
  ...outcome,
  verdicts,
  verdictsDigest: verdictsDigest(verdicts),
});

describe("checkRoundOutcome", () => {
  it("holds for a round a quorum of registered verifiers decided, naming who counted", async () => {
    const outcome = await decidedRound({
      node,
      votes: [
        [a, "valid"],
        [b, "valid"],
        [c, "invalid"],
      ],
    });
    expect(await checkRoundOutcome(outcome, options)).toEqual({
      ok: true,
      agreeing: [a.address, b.address],
    });
  });

  it("refuses each broken link with its own reason and the path at fault", async () => {
    const outcome = await decidedRound({
      node,
      votes: [
        [a, "valid"],
        [b, "valid"],
      ],
    });
    const stranger = account("stranger");
    const foreign = await verdictBy(a, await decidedRound({ node }), "valid");
    const forged = { ...(outcome.verdicts[1] as RoundOutcome["verdicts"][number]) };
    forged.verifier = c.address;
    const cases: [string, RoundOutcome, string, string][] = [
      [
        "a receipt for another inference",
        { ...outcome, receipt: (await decidedRound({ node })).receipt },
        "bad_receipt",
        "receipt.inferenceId",
      ],
      [
        "a receiptDigest that is not the receipt's",
        { ...outcome, receiptDigest: keccak256(stringToHex("x")) },
        "bad_receipt",
        "receiptDigest",
      ],
      [
        "a verdicts digest that does not commit to the verdicts",
        { ...outcome, verdicts: outcome.verdicts.slice(1) },
        "verdicts_digest_mismatch",
        "verdictsDigest",
      ],
      [
        "a verdict about another inference",
        revote(outcome, [outcome.verdicts[0] as RoundOutcome["verdicts"][number], foreign]),
        "bad_verdict",
        "verdicts.1",
      ],
      [
        "a verdict in another verifier's name",
        revote(outcome, [outcome.verdicts[0] as RoundOutcome["verdicts"][number], forged]),
        "bad_verdict",
        "verdicts.1",
      ],
      [
        "one agreeing verdict where two are needed",
        revote(outcome, outcome.verdicts.slice(0, 1)),
        "insufficient_quorum",
        "",
      ],
    ];
    for (const [what, broken, reason, path] of cases) {
      expect(await checkRoundOutcome(broken, options), what).toMatchObject({
        ok: false,
        reason,
        path,
      });
    }
    expect(
      await checkRoundOutcome(outcome, { ...options, trustedNodes: [stranger.address] }),
    ).toMatchObject({
      ok: false,
      reason: "unknown_node",
      path: "receipt",
    });
  });

  it("refuses a version-1 outcome of a version-2 verdict as version_downgrade, so it never settles short", async () => {
    const outcome = await decidedRound({ node, votes: [[a, "valid"]] });
    const v2 = await verdictBy(a, outcome, "valid", 2);
    const downgraded = revote(outcome, [v2, ...outcome.verdicts]);
    expect(downgraded.version).toBe(1);
    expect(await checkRoundOutcome(downgraded, options)).toMatchObject({
      ok: false,
      reason: "version_downgrade",
      path: "version",
    });
  });

  it("counts only registered verifiers, each once", async () => {
    const outsider = account("outsider");
    const outcome = await decidedRound({
      node,
      votes: [
        [a, "valid"],
        [outsider, "valid"],
      ],
    });
    expect(await checkRoundOutcome(outcome, options)).toMatchObject({
      ok: false,
      reason: "insufficient_quorum",
    });
    const twice = revote(outcome, [
      outcome.verdicts[0] as RoundOutcome["verdicts"][number],
      outcome.verdicts[0] as RoundOutcome["verdicts"][number],
    ]);
    expect(await registeredAgreeing(twice, options.isRegistered)).toEqual([a.address]);
  });
});

describe("checkOutcomeDigests", () => {
  it("needs no key or registry, and passes a consistent outcome whose signatures it does not judge", async () => {
    const outcome = await decidedRound({ node: account("untrusted"), votes: [[a, "valid"]] });
    expect(checkOutcomeDigests(outcome)).toBeNull();
  });
});
