import { type Address, type Hex, parseEventLogs } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifierRegistryAbi } from "../generated/VerifierRegistry.ts";
import { ANVIL_KEY_0, ANVIL_KEY_1, type Anvil, startAnvil } from "./anvil.ts";
import { clients, deploy, revertOf, verifierAccounts } from "./fixtures.ts";

let anvil: Anvil;
beforeAll(async () => {
  anvil = await startAnvil();
});
afterAll(async () => {
  await anvil?.stop();
});

type RegistryWrite =
  | { functionName: "addVerifier"; args: readonly [Address] }
  | { functionName: "addVerifiers"; args: readonly [readonly Address[]] }
  | { functionName: "removeVerifier"; args: readonly [Address] }
  | { functionName: "setThreshold"; args: readonly [bigint] }
  | { functionName: "transferOwnership"; args: readonly [Address] }
  | { functionName: "acceptOwnership"; args: readonly [] }
  | { functionName: "renounceOwnership"; args: readonly [] };

async function freshRegistry(verifierCount = 3, threshold = 2) {
  const verifiers = verifierAccounts(verifierCount);
  const { registry } = await deploy(anvil, verifiers, threshold);
  const owner = clients(anvil, ANVIL_KEY_0);
  const stranger = clients(anvil, ANVIL_KEY_1);
  const read = {
    threshold: () =>
      owner.publicClient.readContract({
        address: registry,
        abi: verifierRegistryAbi,
        functionName: "threshold",
      }),
    verifiers: () =>
      owner.publicClient.readContract({
        address: registry,
        abi: verifierRegistryAbi,
        functionName: "verifiers",
      }),
    isVerifier: (account: Address) =>
      owner.publicClient.readContract({
        address: registry,
        abi: verifierRegistryAbi,
        functionName: "isVerifier",
        args: [account],
      }),
  };
  /** Sends as `who` and returns the decoded registry events of the receipt. */
  const write = async (who: typeof owner, call: RegistryWrite) => {
    const hash: Hex = await who.walletClient.writeContract({
      address: registry,
      abi: verifierRegistryAbi,
      ...call,
    } as Parameters<typeof who.walletClient.writeContract>[0]);
    const receipt = await who.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe("success");
    return parseEventLogs({ abi: verifierRegistryAbi, logs: receipt.logs });
  };
  /** The custom error `who` would hit with `call`. */
  const refusal = (who: typeof owner, call: RegistryWrite) =>
    revertOf(
      who.publicClient.simulateContract({
        address: registry,
        abi: verifierRegistryAbi,
        account: who.account,
        ...call,
      } as Parameters<typeof who.publicClient.simulateContract>[0]),
    );
  return { registry, verifiers, owner, stranger, read, write, refusal };
}

describe("VerifierRegistry", () => {
  it("starts with the deployed verifier set and threshold, owned by the deployer", async () => {
    const { registry, verifiers, owner, read } = await freshRegistry(3, 2);
    expect(await read.threshold()).toBe(2n);
    expect([...(await read.verifiers())].sort()).toEqual(verifiers.map((v) => v.address).sort());
    for (const v of verifiers) expect(await read.isVerifier(v.address)).toBe(true);
    expect(await read.isVerifier(owner.account.address)).toBe(false);
    expect(
      await owner.publicClient.readContract({
        address: registry,
        abi: verifierRegistryAbi,
        functionName: "owner",
      }),
    ).toBe(owner.account.address);
  });

  it("lets the owner add, batch-add and remove verifiers, with an event for each", async () => {
    const { owner, read, write } = await freshRegistry(2, 1);
    const [a, b, c] = verifierAccounts(3).map((v) => v.address) as [Address, Address, Address];

    const added = await write(owner, { functionName: "addVerifier", args: [a] });
    expect(added.map((e) => [e.eventName, e.args])).toEqual([["VerifierAdded", { verifier: a }]]);

    const batchAdded = await write(owner, { functionName: "addVerifiers", args: [[b, c]] });
    expect(batchAdded.map((e) => [e.eventName, e.args])).toEqual([
      ["VerifierAdded", { verifier: b }],
      ["VerifierAdded", { verifier: c }],
    ]);
    expect(await read.verifiers()).toHaveLength(5);

    const removed = await write(owner, { functionName: "removeVerifier", args: [b] });
    expect(removed.map((e) => [e.eventName, e.args])).toEqual([
      ["VerifierRemoved", { verifier: b }],
    ]);
    expect(await read.isVerifier(b)).toBe(false);
    expect(await read.verifiers()).toHaveLength(4);
  });

  it("lets the owner change the threshold within 1..count, with an event", async () => {
    const { owner, read, write, refusal } = await freshRegistry(3, 2);
    const events = await write(owner, { functionName: "setThreshold", args: [3n] });
    expect(events.map((e) => [e.eventName, e.args])).toEqual([
      ["ThresholdChanged", { previousThreshold: 2n, newThreshold: 3n }],
    ]);
    expect(await read.threshold()).toBe(3n);
    expect(await refusal(owner, { functionName: "setThreshold", args: [0n] })).toEqual({
      errorName: "InvalidThreshold",
      args: [0n, 3n],
    });
    expect(await refusal(owner, { functionName: "setThreshold", args: [4n] })).toEqual({
      errorName: "InvalidThreshold",
      args: [4n, 3n],
    });
  });

  it("refuses a removal that would leave fewer verifiers than the threshold", async () => {
    const { verifiers, owner, read, write, refusal } = await freshRegistry(2, 2);
    const first = verifiers[0]?.address as Address;
    expect(await refusal(owner, { functionName: "removeVerifier", args: [first] })).toEqual({
      errorName: "InvalidThreshold",
      args: [2n, 1n],
    });
    // Lowering the threshold first makes the same removal valid.
    await write(owner, { functionName: "setThreshold", args: [1n] });
    await write(owner, { functionName: "removeVerifier", args: [first] });
    expect(await read.isVerifier(first)).toBe(false);
  });

  it("refuses the zero address, a verifier added twice and removing a stranger", async () => {
    const { verifiers, owner, refusal } = await freshRegistry(3, 2);
    const zero = "0x0000000000000000000000000000000000000000";
    const known = verifiers[0]?.address as Address;
    const unknown = verifierAccounts(1)[0]?.address as Address;
    expect(await refusal(owner, { functionName: "addVerifier", args: [zero] })).toEqual({
      errorName: "InvalidVerifier",
      args: [zero],
    });
    expect(await refusal(owner, { functionName: "addVerifier", args: [known] })).toEqual({
      errorName: "VerifierAlreadyRegistered",
      args: [known],
    });
    expect(
      await refusal(owner, { functionName: "addVerifiers", args: [[unknown, unknown]] }),
    ).toEqual({
      errorName: "VerifierAlreadyRegistered",
      args: [unknown],
    });
    expect(await refusal(owner, { functionName: "removeVerifier", args: [unknown] })).toEqual({
      errorName: "VerifierNotRegistered",
      args: [unknown],
    });
  });

  it("refuses every management call from anyone but the owner", async () => {
    const { verifiers, stranger, refusal } = await freshRegistry(3, 2);
    const someone = verifierAccounts(1)[0]?.address as Address;
    const calls: RegistryWrite[] = [
      { functionName: "addVerifier", args: [someone] },
      { functionName: "addVerifiers", args: [[someone]] },
      { functionName: "removeVerifier", args: [verifiers[0]?.address as Address] },
      { functionName: "setThreshold", args: [1n] },
      { functionName: "transferOwnership", args: [stranger.account.address] },
      { functionName: "renounceOwnership", args: [] },
    ];
    for (const call of calls) {
      expect(await refusal(stranger, call), call.functionName).toEqual({
        errorName: "OwnableUnauthorizedAccount",
        args: [stranger.account.address],
      });
    }
  });

  it("moves ownership only when the new owner accepts, and never renounces it", async () => {
    const { owner, stranger, write, refusal, read } = await freshRegistry(3, 2);
    expect(await refusal(owner, { functionName: "renounceOwnership", args: [] })).toEqual({
      errorName: "OwnershipCannotBeRenounced",
      args: [],
    });
    await write(owner, { functionName: "transferOwnership", args: [stranger.account.address] });
    // Pending, not yet owner: still refused.
    expect(await refusal(stranger, { functionName: "setThreshold", args: [1n] })).toMatchObject({
      errorName: "OwnableUnauthorizedAccount",
    });
    await write(stranger, { functionName: "acceptOwnership", args: [] });
    await write(stranger, { functionName: "setThreshold", args: [1n] });
    expect(await read.threshold()).toBe(1n);
    expect(await refusal(owner, { functionName: "setThreshold", args: [2n] })).toMatchObject({
      errorName: "OwnableUnauthorizedAccount",
    });
  });
});
