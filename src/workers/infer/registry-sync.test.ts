import { env } from "cloudflare:workers";
import { encodeFunctionResult, keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterEach, describe, expect, it, vi } from "vitest";
import { verifierRegistryAbi } from "../../../contracts/generated/VerifierRegistry";
import { VerifierRegistry } from "../../db/verifier-registry";
import { syncRegistryFromChain } from "./registry-sync";

const account = (name: string) => privateKeyToAccount(keccak256(toHex(name))).address;
const kept = account("sync kept");
const dropped = account("sync dropped");
const added = account("sync added");

afterEach(() => vi.restoreAllMocks());

/** Answers the JSON-RPC calls viem makes, as a node serving the registry contract would. */
function chainServing(verifiers: `0x${string}`[]) {
  return vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const { id, method } = (await request.json()) as { id: number; method: string };
    expect(method).toBe("eth_call");
    const result = encodeFunctionResult({
      abi: verifierRegistryAbi,
      functionName: "verifiers",
      result: verifiers,
    });
    return Response.json({ jsonrpc: "2.0", id, result });
  });
}

describe("syncRegistryFromChain", () => {
  it("does nothing without a registry address: D1 is then the registry", async () => {
    expect(await syncRegistryFromChain({ ...env, REGISTRY_ADDRESS: "" })).toBeNull();
  });

  it("removes verifiers the chain no longer lists and activates the ones it lists", async () => {
    const registry = new VerifierRegistry(env.DB);
    await registry.register(kept, "http://kept.test", Date.now());
    await registry.register(dropped, "http://dropped.test", Date.now());
    chainServing([kept, added]);
    const result = await syncRegistryFromChain({
      ...env,
      RPC_URL: "http://chain.test",
      REGISTRY_ADDRESS: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    });
    expect(result).toMatchObject({ onChain: 2 });
    expect(await registry.isRegistered(kept)).toBe(true);
    expect(await registry.isRegistered(added)).toBe(true);
    expect(await registry.isRegistered(dropped)).toBe(false);
  });
});
