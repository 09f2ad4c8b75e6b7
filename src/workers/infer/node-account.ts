import type { LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { VerityError } from "../../errors";

let cached: { key: string; account: LocalAccount } | undefined;

/** The inference node's signing account, derived once per isolate from the `INFERENCE_NODE_KEY` secret. */
export function nodeAccount(env: Env): LocalAccount {
  const key = env.INFERENCE_NODE_KEY;
  if (cached?.key === key) return cached.account;
  if (!/^0x[0-9a-fA-F]{64}$/.test(key ?? "")) {
    throw new VerityError("This gateway has no valid inference-node key configured.", {
      status: 503,
      type: "service_unavailable",
      code: "node_key_missing",
      details: { hint: "set the INFERENCE_NODE_KEY secret to a 0x-prefixed 32-byte hex key" },
    });
  }
  const account = privateKeyToAccount(key as `0x${string}`);
  cached = { key, account };
  return account;
}
