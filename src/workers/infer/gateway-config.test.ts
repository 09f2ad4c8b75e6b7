import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { gatewayConfig } from "./gateway-config";
import { nodeAccount } from "./node-account";

const KEY = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";
const withVars = (vars: Partial<Record<keyof Env, string>>) => ({ ...env, ...vars }) as Env;

describe("gatewayConfig", () => {
  it("reads the keys, the registry, the URL policy and the bench switch, with the documented defaults", () => {
    const config = gatewayConfig(
      withVars({
        INFERENCE_NODE_KEY: KEY,
        REGISTRY_ADDRESS: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        RPC_URL: "http://127.0.0.1:8545",
        VERIFIER_URL_POLICY: "",
        VERITY_BENCH: "0",
      }),
    );
    expect(config.nodeAccount?.address).toBe("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720");
    expect(config.registry).toEqual({
      address: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      rpcUrl: "http://127.0.0.1:8545",
    });
    expect(config.verifierUrlPolicy).toBe("public-https");
    expect(config.bench).toBe(false);
    expect(gatewayConfig(withVars({ REGISTRY_ADDRESS: "", VERITY_BENCH: "1" }))).toMatchObject({
      registry: null,
      bench: true,
    });
  });

  it.each([
    ["VERIFIER_URL_POLICY", { VERIFIER_URL_POLICY: "anything" }],
    ["REGISTRY_ADDRESS", { REGISTRY_ADDRESS: "0x1234" }],
    [
      "RPC_URL",
      { REGISTRY_ADDRESS: "0x5fbdb2315678afecb367f032d93f642f64180aa3", RPC_URL: "ftp://x" },
    ],
  ])("refuses a malformed %s with a 503 that names it", (name, vars) => {
    expect(() => gatewayConfig(withVars(vars))).toThrow(
      expect.objectContaining({
        status: 503,
        code: "gateway_misconfigured",
        message: expect.stringContaining(name),
      }),
    );
  });

  it("leaves a malformed signing key to what needs it: receipts refuse with node_key_missing", () => {
    const broken = withVars({ INFERENCE_NODE_KEY: "0x1234" });
    expect(gatewayConfig(broken).nodeAccount).toBeNull();
    expect(() => nodeAccount(broken)).toThrow(
      expect.objectContaining({ status: 503, code: "node_key_missing" }),
    );
  });
});
