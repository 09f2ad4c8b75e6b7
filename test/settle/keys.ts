// Test support: the keys of the settlement tests, shared by the Node global setup (which
// registers the verifiers on anvil) and the tests in workerd. Never used outside tests.
import { keccak256, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

const testKey = (label: string) => keccak256(stringToHex(`verity settle test key: ${label}`));

/** Registered on-chain (threshold 2): they vote in rounds and co-sign batches. */
export const VERIFIER_KEYS = [0, 1, 2].map((i) => testKey(`verifier ${i}`));
export const verifierAccounts = VERIFIER_KEYS.map((key) => privateKeyToAccount(key));
export const REGISTRY_THRESHOLD = 2;

/** anvil's account #3 (funded): sends settleBatch. */
export const SETTLER_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
/** anvil's account #9: the inference node that signs receipts. */
export const NODE_KEY = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";
/** anvil's account #7: the coordinator verifiers accept tasks from (unused by settlement). */
export const COORDINATOR_ADDRESS = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955";
