import type { ApiKey } from "../../db/schema";

/** Hono's type parameters for the gateway: the worker's bindings and per-request variables. */
export interface GatewayEnv {
  Bindings: Env;
  Variables: {
    apiKey: ApiKey;
    /** Set on the public routes: charges a verifier address (see public-limits.ts). */
    chargeVerifier?: (address: string) => void;
  };
}
