// Global setup of the settlement tests (Node side, see vitest.settle.config.ts): one anvil on a
// free 127.0.0.1 port with the registry and ledger deployed, handed to the workers through
// `provide`; stopped when the run ends (and killed if the process exits first).
import type { TestProject } from "vitest/node";
import { ANVIL_CHAIN_ID, ANVIL_KEY_0, startAnvil } from "./contracts/test/anvil.ts";
import { deployVerityContracts } from "./scripts/lib/deploy-verity-contracts.ts";
import { REGISTRY_THRESHOLD, verifierAccounts } from "./test/settle/keys.ts";

declare module "vitest" {
  export interface ProvidedContext {
    settleRpcUrl: string;
    settleLedger: string;
    settleRegistry: string;
  }
}

export default async function setup(project: TestProject) {
  const anvil = await startAnvil();
  try {
    const deployment = await deployVerityContracts({
      rpcUrl: anvil.rpcUrl,
      chainId: ANVIL_CHAIN_ID,
      deployerKey: ANVIL_KEY_0,
      verifiers: verifierAccounts.map((a) => a.address),
      threshold: REGISTRY_THRESHOLD,
      pollingIntervalMs: 50,
    });
    project.provide("settleRpcUrl", anvil.rpcUrl);
    project.provide("settleLedger", deployment.ledger);
    project.provide("settleRegistry", deployment.registry);
  } catch (error) {
    await anvil.stop();
    throw error;
  }
  return () => anvil.stop();
}
