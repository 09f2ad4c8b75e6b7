import { afterEach, describe, expect, it, vi } from "vitest";
import {
  CHAIN_ID,
  downChain,
  type MockChain,
  mockChain,
  REGISTRY,
  voters,
} from "../../../test/verify/batch";
import { VerityError } from "../../errors";
import { REGISTRY_CACHE_MS, readVerifierRegistry } from "./read-verifier-registry";

afterEach(() => {
  vi.restoreAllMocks();
});

const location = (chain: MockChain) => ({
  rpcUrl: chain.env.RPC_URL ?? "",
  chainId: CHAIN_ID,
  registry: REGISTRY,
});

const addresses = voters.slice(0, 3).map((v) => v.address);

describe("readVerifierRegistry", () => {
  it("reads the registered verifiers (checksummed) and the threshold with eth_calls", async () => {
    const chain = mockChain({
      verifiers: addresses.map((a) => a.toLowerCase() as `0x${string}`),
      threshold: 2n,
    });
    const registry = await readVerifierRegistry(location(chain));
    expect([...registry.verifiers]).toEqual(addresses);
    expect(registry.threshold).toBe(2n);
    expect(chain.calls.sort()).toEqual(["eth_chainId", "threshold", "verifiers"]);
  });

  it(`reuses a read for ${REGISTRY_CACHE_MS} ms, then reads again`, async () => {
    const chain = mockChain({ verifiers: addresses, threshold: 2n });
    const now = Date.now();
    await readVerifierRegistry(location(chain), now);
    await readVerifierRegistry(location(chain), now + REGISTRY_CACHE_MS - 1);
    expect(chain.calls).toHaveLength(3);
    await readVerifierRegistry(location(chain), now + REGISTRY_CACHE_MS);
    expect(chain.calls).toHaveLength(6);
  });

  it("shares one read between concurrent callers", async () => {
    const chain = mockChain({ verifiers: addresses, threshold: 2n });
    const now = Date.now();
    const reads = await Promise.all(
      [1, 2, 3].map(() => readVerifierRegistry(location(chain), now)),
    );
    expect(new Set(reads).size).toBe(1);
    expect(chain.calls).toHaveLength(3);
  });

  it("keys the cache by RPC URL: another endpoint is read afresh", async () => {
    const first = mockChain({ verifiers: addresses, threshold: 2n });
    expect((await readVerifierRegistry(location(first))).threshold).toBe(2n);
    const second = mockChain({ verifiers: addresses, threshold: 3n });
    expect((await readVerifierRegistry(location(second))).threshold).toBe(3n);
  });

  it("does not cache a failed read: the next call reads again once the RPC answers", async () => {
    const chain = mockChain({ verifiers: addresses, threshold: 2n });
    const fetchSpy = vi.mocked(globalThis.fetch);
    const answer = fetchSpy.getMockImplementation();
    fetchSpy.mockImplementation(() => Promise.reject(new TypeError("connection refused")));
    await expect(readVerifierRegistry(location(chain))).rejects.toMatchObject({
      status: 503,
      code: "registry_unavailable",
    });
    fetchSpy.mockImplementation(answer ?? (() => Promise.reject(new Error("no mock"))));
    expect((await readVerifierRegistry(location(chain))).verifiers.size).toBe(3);
  });

  it("an RPC endpoint that is down is a 503 registry_unavailable VerityError that keeps viem's error as cause", async () => {
    const chain = downChain();
    const error = await readVerifierRegistry(location(chain)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VerityError);
    expect(error).toMatchObject({ status: 503, code: "registry_unavailable" });
    expect((error as VerityError).message).not.toContain(chain.env.RPC_URL);
    expect((error as VerityError).cause).toBeDefined();
  });

  it("an RPC error answer (not a transport failure) is also registry_unavailable", async () => {
    const chain = mockChain({ verifiers: addresses, threshold: 2n });
    vi.mocked(globalThis.fetch).mockImplementation(async (input, init) => {
      const { id } = (await new Request(input, init).json()) as { id: number };
      return Response.json({
        jsonrpc: "2.0",
        id,
        error: { code: -32005, message: "rate limited" },
      });
    });
    await expect(readVerifierRegistry(location(chain))).rejects.toMatchObject({
      status: 503,
      code: "registry_unavailable",
    });
  });
});
