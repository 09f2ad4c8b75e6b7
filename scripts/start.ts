// `npm start`: the whole local Verity network, offline, until Ctrl-C.
import { relative } from "node:path";
import { z } from "zod";
import { anvilStatePath } from "./lib/chain-service.ts";
import { cliValue, Port, parseCli, runMain } from "./lib/cli.ts";
import { FaultyMode, type LocalVerifier, localJsonPath } from "./lib/local-json.ts";
import {
  DEFAULT_BLOCK_TIME_SECONDS,
  DEFAULT_CRON_INTERVAL_MS,
  DEFAULT_SETTLE_INTERVAL_MS,
  DEFAULT_VERIFIERS,
  describeFailure,
  LOCAL_THRESHOLD,
  type LocalNetwork,
  startLocalNetwork,
} from "./lib/local-network.ts";
import { resolveStateDir } from "./lib/state-dir.ts";
import { verifierServiceName } from "./lib/verifier-service.ts";

const USAGE = `usage: npm start [-- [--port N] [--state-dir DIR] [--verifiers N] [--faulty MODE]
                        [--cron-interval S] [--settle-interval S] [--block-time S]
                        [--watch]]

  --port N             the gateway's port on 127.0.0.1 (default 8787); verifier n
                       listens on N+n, and the local chain (anvil) on the port after
                       the last verifier's (default 8545)
  --state-dir DIR      keys, D1 and local.json (default .verity/, or $VERITY_STATE_DIR)
  --verifiers N        verifier nodes to run (default ${DEFAULT_VERIFIERS}, at least 1)
  --faulty MODE        run the last verifier misbehaving, to watch quorum and deadlines:
                       always-invalid, silent or wrong-key (or $VERITY_FAULTY)
  --cron-interval S    seconds between runs of the gateway's cron handler (default ${DEFAULT_CRON_INTERVAL_MS / 1000})
  --settle-interval S  seconds between the settler's ticks (default ${DEFAULT_SETTLE_INTERVAL_MS / 1000})
  --block-time S       seconds between the local chain's blocks (default ${DEFAULT_BLOCK_TIME_SECONDS})
  --watch              bundle the workers from source and reload each on an edit; without
                       it they run a build made once per change of the sources

Intervals may be fractions of a second (at least 0.1): the tests run the network on short ones.`;

const DEFAULT_CHAIN_PORT = 8545;
// wrangler.settle.toml's CONFIRMATIONS, which the local network keeps.
const SETTLE_CONFIRMATIONS = 2;

const VerifierCount = z.coerce.number().int().min(1).max(32);
const IntervalSeconds = z.coerce.number().min(0.1).max(3_600);

async function main(): Promise<number> {
  const { values } = parseCli(process.argv.slice(2), {
    port: { type: "string" },
    "state-dir": { type: "string" },
    verifiers: { type: "string" },
    faulty: { type: "string" },
    "cron-interval": { type: "string" },
    "settle-interval": { type: "string" },
    "block-time": { type: "string" },
    watch: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = cliValue("--port", Port, values.port ?? "8787");
  const stateDir = resolveStateDir(values["state-dir"]);
  const verifiers = cliValue("--verifiers", VerifierCount, values.verifiers ?? DEFAULT_VERIFIERS);
  const faultyFlag = values.faulty ?? (process.env.VERITY_FAULTY || undefined);
  const faulty =
    faultyFlag === undefined
      ? undefined
      : cliValue(
          values.faulty === undefined ? "VERITY_FAULTY" : "--faulty",
          FaultyMode,
          faultyFlag,
        );
  const cronIntervalMs =
    cliValue(
      "--cron-interval",
      IntervalSeconds,
      values["cron-interval"] ?? DEFAULT_CRON_INTERVAL_MS / 1000,
    ) * 1000;

  const settleIntervalMs =
    cliValue(
      "--settle-interval",
      IntervalSeconds,
      values["settle-interval"] ?? DEFAULT_SETTLE_INTERVAL_MS / 1000,
    ) * 1000;

  const blockTimeSeconds = cliValue(
    "--block-time",
    IntervalSeconds,
    values["block-time"] ?? DEFAULT_BLOCK_TIME_SECONDS,
  );

  const started = Date.now();
  const aborter = new AbortController();
  let network: LocalNetwork | undefined;
  let firstSignalAt: number | undefined;
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      const now = Date.now();
      // npm and tsx pass the same Ctrl-C on, so one press can arrive twice: only a second
      // press a moment later means "stop waiting for a clean shutdown".
      if (firstSignalAt !== undefined) {
        if (now - firstSignalAt > 1_000) {
          console.error("Forced exit.");
          process.exit(130); // the exit hook SIGKILLs every process group still alive
        }
        return;
      }
      firstSignalAt = now;
      console.error(`\n${sig}: stopping the local network…`);
      aborter.abort(new Error(sig));
      void (network?.stop() ?? Promise.resolve()).then(() => resolve(sig === "SIGINT" ? 130 : 143));
    };
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, onSignal);
  });

  try {
    network = await startLocalNetwork({
      stateDir,
      port,
      verifiers,
      faulty,
      cronIntervalMs,
      settleIntervalMs,
      blockTimeSeconds,
      watch: values.watch,
      // With an explicit --port the chain follows the verifiers, so that networks side by side
      // do not collide; the default one is on anvil's usual port.
      chainPort: values.port === undefined ? DEFAULT_CHAIN_PORT : undefined,
      signal: aborter.signal,
    });
  } catch (err) {
    if (aborter.signal.aborted) return stopped;
    throw err;
  }
  printBanner(network, (Date.now() - started) / 1000, {
    cronIntervalMs,
    settleIntervalMs,
    blockTimeSeconds,
  });

  return Promise.race([
    stopped,
    network.failure.then(async (failure) => {
      console.error(`\nerror: ${describeFailure(failure)}`);
      console.error("Stopping the rest of the local network.");
      await network?.stop();
      return 1;
    }),
  ]);
}

function printBanner(
  network: LocalNetwork,
  seconds: number,
  intervals: { cronIntervalMs: number; settleIntervalMs: number; blockTimeSeconds: number },
) {
  const { cronIntervalMs, settleIntervalMs, blockTimeSeconds } = intervals;
  const blocks =
    blockTimeSeconds === 1 ? "a block a second" : `a block every ${blockTimeSeconds} s`;
  const { info } = network;
  const shown = (path: string) => {
    const rel = relative(process.cwd(), path);
    return rel && !rel.startsWith("..") ? rel : path;
  };
  const body = JSON.stringify({
    model: "verity-ngram-1",
    messages: [{ role: "user", content: "Tell me about the sea." }],
  });
  const auth = `-H "Authorization: Bearer ${info.apiKey}"`;
  const verifierLines = info.verifiers.map(
    (v, i) =>
      `    ${verifierServiceName(i + 1).padEnd(12)} ${v.url}   ${v.address}${v.faultMode ? `   faulty: ${v.faultMode}` : ""}`,
  );
  const faulty = info.verifiers.find((v) => v.faultMode !== null);
  const chainLines =
    info.rpcUrl && info.contracts && info.settler
      ? [
          `  Chain          ${info.rpcUrl}   (anvil, chain id ${info.chainId}, ${blocks}; state in ${shown(anvilStatePath(info.stateDir))})`,
          `    registry     ${info.contracts.registry}   (the verifiers above, threshold ${Math.min(LOCAL_THRESHOLD, info.verifiers.length)})`,
          `    ledger       ${info.contracts.ledger}`,
          `  Settler        ${info.settler}   (in the gateway's wrangler dev; batches every ${settleIntervalMs / 1000} s, settled after ${SETTLE_CONFIRMATIONS} blocks)`,
        ]
      : [];
  console.log(`
Verity local network is up (${seconds.toFixed(1)} s)

  Gateway        ${info.gatewayUrl}   (OpenAI-compatible API under /v1; the coordinator too)
  API key        ${info.apiKey}
  Node address   ${info.inferenceNode}
  Coordinator    ${info.coordinator}
  Verifiers      ${info.verifiers.length}, registered and heartbeating (GET /v1/verifiers)
${verifierLines.join("\n")}
  Cron           the gateway's scheduled handler every ${cronIntervalMs / 1000} s
${chainLines.map((line) => `${line}\n`).join("")}  local.json     ${shown(localJsonPath(info.stateDir))}
${faulty ? `\n${faultyNote(faulty)}\n` : ""}
Try it:
  curl ${info.gatewayUrl}/v1/chat/completions \\
    ${auth} \\
    -H "Content-Type: application/json" \\
    -d '${body}'

Watch an answer's verification round (committee, signed verdicts, decision) as it happens:
  id=$(curl -s -o /dev/null -D - ${info.gatewayUrl}/v1/chat/completions ${auth} \\
    -H "Content-Type: application/json" -d '${body}' \\
    | tr -d '\\r' | sed -n 's/^x-verity-inference-id: //ip')
  curl -N ${info.gatewayUrl}/v1/inferences/$id/events ${auth}
  curl ${info.gatewayUrl}/v1/inferences/$id ${auth}       # status: verified, and why${
    chainLines.length > 0
      ? `
  # about ${Math.ceil(settleIntervalMs / 1000) + 5} s later: status settled, with its batch and transaction; then
  curl ${info.gatewayUrl}/v1/inferences/$id/proof ${auth} # its Merkle proof against the ledger`
      : ""
  }

Ctrl-C stops everything.
`);
}

function faultyNote(verifier: LocalVerifier): string {
  const lines = {
    "always-invalid": [
      `verifier ${verifier.url} is faulty: it signs every verdict "invalid". Rounds still verify`,
      "by the quorum of the others, and GET /v1/verifiers shows it agreeing less than it votes.",
    ],
    silent: [
      `verifier ${verifier.url} is faulty: it takes tasks and never answers. Rounds decide on`,
      "the others' verdicts; with --verifiers 2 no quorum is left without it, so rounds wait",
      "out the deadline, find no one to replace it, and end inconclusive.",
    ],
    "wrong-key": [
      `verifier ${verifier.url} is faulty: it signs its verdicts with a key it was not registered`,
      "with. It still joins committees; rounds refuse its verdicts (bad_signature) and decide on",
      "the others'.",
    ],
  } satisfies Record<FaultyMode, string[]>;
  return verifier.faultMode ? lines[verifier.faultMode].map((line) => `  ${line}`).join("\n") : "";
}

runMain(main, "Run `npm start -- --help` for usage.");
