/** The verifier software's version, announced in heartbeats and `/v1/health`. */
export const VERIFIER_VERSION = "0.1.0";
