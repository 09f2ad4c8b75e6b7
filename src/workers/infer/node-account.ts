import type { LocalAccount } from "viem";
import { VerityError } from "../../errors";
import { gatewayConfig } from "./gateway-config";

/** The inference node's signing account (`INFERENCE_NODE_KEY`, parsed by `gatewayConfig`). */
export function nodeAccount(env: Env): LocalAccount {
  const account = gatewayConfig(env).nodeAccount;
  if (!account) {
    throw new VerityError("This gateway has no valid inference-node key configured.", {
      status: 503,
      type: "service_unavailable",
      code: "node_key_missing",
      details: { hint: "set the INFERENCE_NODE_KEY secret to a 0x-prefixed 32-byte hex key" },
    });
  }
  return account;
}
