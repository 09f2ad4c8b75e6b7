import { z } from "zod";
import { binDir, pinnedPath, repoRoot } from "../lib/paths.ts";
import { runCommandOrFail } from "../lib/run-command.ts";
import type { StandaloneBenchContext, StandaloneBenchSection } from "./bench-section.ts";
import { fixed, formatTable } from "./format-table.ts";

const Timing = z.object({
  rounds: z.number(),
  results: z.record(z.string(), z.object({ tokens: z.number(), ms: z.number() })),
});

/**
 * verity-ngram-1's decoding speed by mode, in one process so the modes compare like with like:
 * constrained decoding (JSON to a schema, tool arguments) against free text. The aim is at most
 * a 2× slowdown.
 */
export const decodingSection: StandaloneBenchSection = {
  title: "Reference model decoding",
  description:
    "verity-ngram-1 in Node: tokens per second of free text, JSON decoded to a 7-field schema, a tool call to the same schema, and text with logprobs, on the same prompts and seeds.",
  standalone: true,
  async run(ctx: StandaloneBenchContext) {
    ctx.log("  decoding text, JSON and tool calls…");
    const { stdout } = await runCommandOrFail(
      "decoding timing",
      {
        command: `${binDir}/tsx`,
        args: [`${repoRoot}/scripts/bench/decoding-timing.ts`],
        cwd: repoRoot,
        env: { ...process.env, PATH: pinnedPath() },
      },
      { signal: ctx.signal },
    );
    const timing = Timing.parse(JSON.parse(stdout.trim().split("\n").at(-1) ?? "null"));
    const rate = (r: { tokens: number; ms: number }) => r.tokens / (r.ms / 1000);
    const text = timing.results.text;
    const rows = Object.entries(timing.results).map(([mode, r]) => [
      mode,
      String(r.tokens),
      fixed(rate(r) / 1000, 0),
      text ? `${fixed(rate(text) / rate(r), 2)}×` : "",
    ]);
    return formatTable(
      [
        { title: "mode" },
        { title: "tokens" },
        { title: "k tokens/s" },
        { title: "slower than text" },
      ],
      rows,
    );
  },
};
