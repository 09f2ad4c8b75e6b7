// `npm run bench`: figures for the local gateway, on its own local network (a temp state
// directory, a free port), against 127.0.0.1 only. Not a test: it prints and exits 0.
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { z } from "zod";
import type { BenchContext, BenchSection } from "./bench/bench-section.ts";
import { chatThroughputSection } from "./bench/chat-throughput-section.ts";
import { receiptCostSection } from "./bench/receipt-cost-section.ts";
import { cliValue, Port, parseCli, runMain } from "./lib/cli.ts";
import { describeFailure, type LocalNetwork, startLocalNetwork } from "./lib/local-network.ts";
import { freePort } from "./lib/ports.ts";
import { toolFailure } from "./lib/script-error.ts";

/** The report, in order. Later issues add their sections here. */
const SECTIONS: readonly BenchSection[] = [chatThroughputSection, receiptCostSection];

const USAGE = `usage: npm run bench [-- [--duration S] [--warmup S] [--port N] [--only TITLE-WORD]]

  --duration S   measured seconds per row (default 5)
  --warmup S     unmeasured seconds before each row (default 1)
  --port N       the bench gateway's port (default: a free one)
  --only WORD    run only the sections whose title contains WORD`;

const Seconds = z.coerce.number().positive().max(120);

async function main(): Promise<number> {
  const { values } = parseCli(process.argv.slice(2), {
    duration: { type: "string" },
    warmup: { type: "string" },
    port: { type: "string" },
    only: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const durationMs = cliValue("--duration", Seconds, values.duration ?? "5") * 1000;
  const warmupMs =
    cliValue("--warmup", z.coerce.number().min(0).max(60), values.warmup ?? "1") * 1000;
  const port = values.port === undefined ? await freePort() : cliValue("--port", Port, values.port);
  const only = values.only?.toLowerCase();
  const sections = SECTIONS.filter((s) => !only || s.title.toLowerCase().includes(only));

  const log = (line: string) => console.error(line);
  const stateDir = await mkdtemp(path.join(tmpdir(), "verity-bench-"));
  const aborter = new AbortController();
  let network: LocalNetwork | undefined;
  const interrupted = new Error("interrupted");
  const onSignal = () => aborter.abort(interrupted);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    log(`Starting a local network for the bench in ${stateDir}…`);
    network = await startLocalNetwork({
      stateDir,
      port,
      gatewayVars: { VERITY_BENCH: "1" },
      // The rate limiter's ceiling: the bench measures the gateway, not the limiter's 429s.
      apiKeyRateLimitPerMinute: 1_000_000,
      log,
      signal: aborter.signal,
    });
    void network.failure.then((failure) =>
      aborter.abort(toolFailure(describeFailure(failure), "service_exited")),
    );
    const ctx: BenchContext = {
      gatewayUrl: network.info.gatewayUrl,
      apiKey: network.info.apiKey,
      durationMs,
      warmupMs,
      maxRequests: 200_000,
      log,
      signal: aborter.signal,
    };
    console.log(
      `Verity bench: gateway ${ctx.gatewayUrl} (wrangler dev on miniflare, local D1), ` +
        `${availableParallelism()} CPUs, Node ${process.version}.\n` +
        `Each row: ${warmupMs / 1000} s warm-up, then ${durationMs / 1000} s of closed-loop requests ` +
        "(at most 200000). The client shares the machine with the gateway.",
    );
    for (const section of sections) {
      log(`${section.title}…`);
      const body = await section.run(ctx);
      console.log(`\n${section.title}\n  ${section.description}\n\n${body}`);
    }
    return 0;
  } catch (err) {
    if (aborter.signal.reason === interrupted) {
      log("Interrupted.");
      return 130;
    }
    throw aborter.signal.aborted ? aborter.signal.reason : err;
  } finally {
    await network?.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

runMain(main, "Run `npm run bench -- --help` for usage.");
