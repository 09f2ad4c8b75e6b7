// Measures settleBatch gas by batch size against the anvil at argv[2]. Run by the bench's
// settlement gas section under tsx (src/ is written for bundlers: its imports have no
// extensions). Progress to stderr; prints JSON, gas as decimal strings.
import { measureSettlementGas } from "../lib/settlement-gas.ts";

const rpcUrl = process.argv[2];
if (rpcUrl === undefined) throw new Error("usage: tsx settlement-gas-run.ts RPC-URL SIZE...");
const sizes = process.argv.slice(3).map(Number);

const report = await measureSettlementGas({
  rpcUrl,
  sizes,
  verifiers: 3,
  threshold: 2,
  log: (line) => console.error(line),
});
console.log(
  JSON.stringify(report, (_key, value) => (typeof value === "bigint" ? String(value) : value)),
);
