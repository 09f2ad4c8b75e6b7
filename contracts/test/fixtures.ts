import {
  ledgerDomain,
  type SettlementBatch,
  settlementSignatures,
  signBatch,
} from "@verity/protocol/settlement-batch";
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  type LocalAccount,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import {
  deployVerityContracts,
  type VerityDeployment,
} from "../../scripts/lib/deploy-verity-contracts.ts";
import { verityLedgerAbi } from "../generated/VerityLedger.ts";
import { ANVIL_CHAIN_ID, ANVIL_KEY_0, type Anvil } from "./anvil.ts";

/** Fresh verifier keys, sorted by address ascending (the order the ledger wants). */
export function verifierAccounts(n: number): LocalAccount[] {
  return Array.from({ length: n }, () => privateKeyToAccount(generatePrivateKey())).sort((a, b) =>
    BigInt(a.address) < BigInt(b.address) ? -1 : 1,
  );
}

export function clients(anvil: Anvil, key: Hex = ANVIL_KEY_0) {
  const transport = http(anvil.rpcUrl);
  const account = privateKeyToAccount(key);
  return {
    account,
    publicClient: createPublicClient({ chain: foundry, transport, pollingInterval: 50 }),
    walletClient: createWalletClient({ account, chain: foundry, transport, pollingInterval: 50 }),
  };
}

export async function deploy(
  anvil: Anvil,
  verifiers: readonly LocalAccount[],
  threshold: number,
): Promise<VerityDeployment> {
  return deployVerityContracts({
    rpcUrl: anvil.rpcUrl,
    chainId: ANVIL_CHAIN_ID,
    deployerKey: ANVIL_KEY_0,
    verifiers: verifiers.map((v) => v.address),
    threshold,
    pollingIntervalMs: 50,
  });
}

/** Each signer's signature of `batch` under `ledger`'s domain, in the order given. */
export async function signaturesOf(
  ledger: Address,
  batch: SettlementBatch,
  signers: readonly LocalAccount[],
): Promise<Hex[]> {
  const domain = ledgerDomain(ANVIL_CHAIN_ID, ledger);
  const signed = await Promise.all(signers.map((s) => signBatch(batch, domain, s)));
  return signed.map((s) => s.signature);
}

/** Signatures of `batch` by `signers`, sorted as settleBatch requires. */
export async function quorumSignatures(
  ledger: Address,
  batch: SettlementBatch,
  signers: readonly LocalAccount[],
): Promise<Hex[]> {
  const domain = ledgerDomain(ANVIL_CHAIN_ID, ledger);
  return settlementSignatures(await Promise.all(signers.map((s) => signBatch(batch, domain, s))));
}

/** Sends settleBatch and waits for its receipt. */
export async function settle(
  anvil: Anvil,
  ledger: Address,
  batch: SettlementBatch,
  signatures: readonly Hex[],
) {
  const { publicClient, walletClient } = clients(anvil);
  const hash = await walletClient.writeContract({
    address: ledger,
    abi: verityLedgerAbi,
    functionName: "settleBatch",
    args: [batch.batchId, batch.root, batch.count, signatures],
  });
  return publicClient.waitForTransactionReceipt({ hash });
}

/** The custom error (name and arguments) that `call` reverted with; fails if it did not revert. */
export async function revertOf(
  call: Promise<unknown>,
): Promise<{ errorName: string; args: readonly unknown[] }> {
  try {
    await call;
  } catch (error) {
    const reverted =
      error instanceof BaseError
        ? error.walk((e) => e instanceof ContractFunctionRevertedError)
        : undefined;
    if (reverted instanceof ContractFunctionRevertedError && reverted.data) {
      return { errorName: reverted.data.errorName, args: reverted.data.args ?? [] };
    }
    throw error;
  }
  throw new Error("expected a revert, but the call succeeded");
}
