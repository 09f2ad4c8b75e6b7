// `npm run bench`: figures for the local gateway and its verification network, on local networks
// of their own (temp state directories, free ports), against 127.0.0.1 only. Not a test: it
// prints and exits 0.
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { z } from "zod";
import type {
  BenchContext,
  BenchNetwork,
  BenchSection,
  StandaloneBenchSection,
} from "./bench/bench-section.ts";
import { chatThroughputSection } from "./bench/chat-throughput-section.ts";
import { decodingSection } from "./bench/decoding-section.ts";
import { receiptCostSection } from "./bench/receipt-cost-section.ts";
import { settlementGasSection } from "./bench/settlement-gas-section.ts";
import { settlementSection } from "./bench/settlement-section.ts";
import { twoKeysSection } from "./bench/two-keys-section.ts";
import { verificationSection } from "./bench/verification-section.ts";
import { cliValue, Port, parseCli, runMain } from "./lib/cli.ts";
import {
  describeFailure,
  type LocalNetwork,
  localPortCount,
  startLocalNetwork,
} from "./lib/local-network.ts";
import { freePortRun } from "./lib/ports.ts";
import { toolFailure } from "./lib/script-error.ts";

/** The report, in order. Later issues add their sections here. */
const SECTIONS: readonly (BenchSection | StandaloneBenchSection)[] = [
  chatThroughputSection,
  decodingSection,
  receiptCostSection,
  verificationSection,
  twoKeysSection,
  settlementSection,
  settlementGasSection,
];

/** The network of the sections that do not ask for one: the gateway alone. */
const SHARED_NETWORK: BenchNetwork = { verifiers: 0 };

const USAGE = `usage: npm run bench [-- [--duration S] [--warmup S] [--port N] [--only TITLE-WORD]
                            [--verify-seconds S] [--verify-rate R]]

  --duration S         measured seconds per row (default 5)
  --warmup S           unmeasured seconds before each row (default 1)
  --port N             the bench gateway's port, verifiers on the next ones (default: free ones)
  --only WORD          run only the sections whose title contains WORD
  --verify-seconds S   how long the verification section's steady load lasts (default 60)
  --verify-rate R      its chat calls per second (default 10)`;

const Seconds = z.coerce.number().positive().max(120);

async function main(): Promise<number> {
  const { values } = parseCli(process.argv.slice(2), {
    duration: { type: "string" },
    warmup: { type: "string" },
    port: { type: "string" },
    only: { type: "string" },
    "verify-seconds": { type: "string" },
    "verify-rate": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const durationMs = cliValue("--duration", Seconds, values.duration ?? "5") * 1000;
  const warmupMs =
    cliValue("--warmup", z.coerce.number().min(0).max(60), values.warmup ?? "1") * 1000;
  const port = values.port === undefined ? undefined : cliValue("--port", Port, values.port);
  const keepPaceMs =
    cliValue(
      "--verify-seconds",
      z.coerce.number().positive().max(3_600),
      values["verify-seconds"] ?? "60",
    ) * 1000;
  const keepPaceRate = cliValue(
    "--verify-rate",
    z.coerce.number().positive().max(10_000),
    values["verify-rate"] ?? "10",
  );
  const only = values.only?.toLowerCase();
  const sections = SECTIONS.filter((s) => !only || s.title.toLowerCase().includes(only));

  const log = (line: string) => console.error(line);
  const aborter = new AbortController();
  const interrupted = new Error("interrupted");
  const onSignal = () => aborter.abort(interrupted);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  let running: BenchNetworkRun | undefined;
  let shared: BenchNetworkRun | undefined;
  const networkFor = async (wanted: BenchNetwork): Promise<BenchNetworkRun> => {
    if (!wanted.own && shared) return shared;
    // One network at a time: two would share the machine's CPUs and skew each other's figures.
    await running?.stop();
    shared = undefined;
    running = await startBenchNetwork(wanted, port, log, aborter);
    if (!wanted.own) shared = running;
    return running;
  };

  try {
    console.log(
      `Verity bench: local networks of wrangler dev on miniflare with local D1, ` +
        `${availableParallelism()} CPUs, Node ${process.version}.\n` +
        `Each chat row: ${warmupMs / 1000} s warm-up, then ${durationMs / 1000} s of closed-loop requests ` +
        "(at most 200000). The client shares the machine with the gateway and its verifiers.",
    );
    for (const section of sections) {
      if ("standalone" in section) {
        log(`${section.title}…`);
        const body = await section.run({ log, signal: aborter.signal });
        console.log(`\n${section.title}\n  ${section.description}\n\n${body}`);
        continue;
      }
      const run = await networkFor(section.network ?? SHARED_NETWORK);
      const ctx: BenchContext = {
        gatewayUrl: run.network.info.gatewayUrl,
        apiKey: run.network.info.apiKey,
        network: run.network.info,
        durationMs,
        warmupMs,
        maxRequests: 200_000,
        keepPaceMs,
        keepPaceRate,
        log,
        signal: aborter.signal,
      };
      log(`${section.title}…`);
      const body = await section.run(ctx);
      const verifiers = run.network.info.verifiers.length;
      console.log(
        `\n${section.title}\n  ${section.description}\n  Network: gateway ${ctx.gatewayUrl}, ` +
          `${verifiers === 0 ? "no verifiers (rounds start, none is judged)" : `${verifiers} verifiers`}.\n\n${body}`,
      );
    }
    return 0;
  } catch (err) {
    if (aborter.signal.reason === interrupted) {
      log("Interrupted.");
      return 130;
    }
    throw aborter.signal.aborted ? aborter.signal.reason : err;
  } finally {
    await running?.stop();
  }
}

interface BenchNetworkRun {
  network: LocalNetwork;
  stop(): Promise<void>;
}

async function startBenchNetwork(
  wanted: BenchNetwork,
  port: number | undefined,
  log: (line: string) => void,
  aborter: AbortController,
): Promise<BenchNetworkRun> {
  const stateDir = await mkdtemp(path.join(tmpdir(), "verity-bench-"));
  const cleanup = () => rm(stateDir, { recursive: true, force: true });
  try {
    log(`Starting a local network (${wanted.verifiers} verifiers) for the bench in ${stateDir}…`);
    const network = await startLocalNetwork({
      stateDir,
      port: port ?? (await freePortRun(localPortCount(wanted.verifiers))),
      verifiers: wanted.verifiers,
      gatewayVars: { VERITY_BENCH: "1" },
      // The rate limiter's ceiling: the bench measures the gateway, not the limiter's 429s.
      apiKeyRateLimitPerMinute: 1_000_000,
      log,
      signal: aborter.signal,
    });
    let stopped = false;
    void network.failure.then((failure) => {
      if (!stopped) aborter.abort(toolFailure(describeFailure(failure), "service_exited"));
    });
    return {
      network,
      async stop() {
        stopped = true;
        await network.stop();
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

runMain(main, "Run `npm run bench -- --help` for usage.");
