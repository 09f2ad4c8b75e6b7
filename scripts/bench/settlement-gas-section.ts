import { z } from "zod";
import { startAnvil } from "../../contracts/test/anvil.ts";
import { binDir, pinnedPath, repoRoot } from "../lib/paths.ts";
import { runCommandOrFail } from "../lib/run-command.ts";
import type { StandaloneBenchSection } from "./bench-section.ts";
import { fixed, formatTable } from "./format-table.ts";

const SIZES = [1, 10, 100, 1_000, 10_000] as const;
const VERIFIERS = 3;
const THRESHOLD = 2;

const Gas = z.string().regex(/^\d+$/).transform(BigInt);
const Report = z.object({
  ledger: z.string(),
  rows: z.array(
    z.object({
      size: z.number(),
      gasUsed: Gas,
      gasPerInference: z.number(),
      calldataBytes: z.number(),
      treeMs: z.number(),
    }),
  ),
  oneTxPerInferenceGas: z.number(),
  singles: z.number(),
});

const count = (n: number) => n.toLocaleString("en-US");

/**
 * What settling a batch costs on a fresh anvil: settleBatch's gas at each batch size, beside
 * the gas of settling each inference in a transaction of its own.
 */
export const settlementGasSection: StandaloneBenchSection = {
  title: `Settlement gas (${VERIFIERS} verifier keys, threshold ${THRESHOLD})`,
  description:
    `One settleBatch per batch size, co-signed (EIP-712) by ${THRESHOLD} of ${VERIFIERS} verifiers, on an anvil of its own; ` +
    "one transaction per inference is the mean gas of 10 one-record batches, times the batch size.",
  standalone: true,
  async run(ctx) {
    ctx.log("  starting anvil…");
    const anvil = await startAnvil();
    try {
      const { stdout } = await runCommandOrFail(
        "settlement gas",
        {
          command: `${binDir}/tsx`,
          args: [
            `${repoRoot}/scripts/bench/settlement-gas-run.ts`,
            anvil.rpcUrl,
            ...SIZES.map(String),
          ],
          cwd: repoRoot,
          env: { ...process.env, PATH: pinnedPath() },
        },
        { signal: ctx.signal },
      );
      const report = Report.parse(JSON.parse(stdout.trim().split("\n").at(-1) ?? "null"));
      const baseline = report.oneTxPerInferenceGas;
      return [
        `  Chain: anvil at ${anvil.rpcUrl}, ledger ${report.ledger}.`,
        "",
        formatTable(
          [
            { title: "batch size" },
            { title: "settleBatch gas" },
            { title: "gas per inference" },
            { title: "1 tx per inference, gas" },
            { title: "ratio" },
          ],
          report.rows.map((row) => [
            count(row.size),
            count(Number(row.gasUsed)),
            fixed(row.gasPerInference, 2),
            count(Math.round(baseline * row.size)),
            `${fixed((baseline * row.size) / Number(row.gasUsed), 0)}x`,
          ]),
        ),
        "",
        `  One transaction per inference: ${count(Math.round(baseline))} gas each (a one-record settleBatch, mean of ${report.singles}).`,
      ].join("\n");
    } finally {
      await anvil.stop();
    }
  },
};
