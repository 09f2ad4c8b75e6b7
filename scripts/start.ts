// `npm start`: the whole local Verity network, offline, until Ctrl-C.
import { relative } from "node:path";
import { cliValue, Port, parseCli, runMain } from "./lib/cli.ts";
import { localJsonPath } from "./lib/local-json.ts";
import { describeFailure, type LocalNetwork, startLocalNetwork } from "./lib/local-network.ts";
import { resolveStateDir } from "./lib/state-dir.ts";

const USAGE = `usage: npm start [-- [--port N] [--state-dir DIR]]

  --port N         the gateway's port on 127.0.0.1 (default 8787)
  --state-dir DIR  keys, D1 and local.json (default .verity/, or $VERITY_STATE_DIR)`;

async function main(): Promise<number> {
  const { values } = parseCli(process.argv.slice(2), {
    port: { type: "string" },
    "state-dir": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = cliValue("--port", Port, values.port ?? "8787");
  const stateDir = resolveStateDir(values["state-dir"]);

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
    network = await startLocalNetwork({ stateDir, port, signal: aborter.signal });
  } catch (err) {
    if (aborter.signal.aborted) return stopped;
    throw err;
  }
  printBanner(network, (Date.now() - started) / 1000);

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

function printBanner(network: LocalNetwork, seconds: number) {
  const { info } = network;
  const shown = (path: string) => {
    const rel = relative(process.cwd(), path);
    return rel && !rel.startsWith("..") ? rel : path;
  };
  const body = JSON.stringify({
    model: "verity-ngram-1",
    messages: [{ role: "user", content: "Tell me about the sea." }],
  });
  console.log(`
Verity local network is up (${seconds.toFixed(1)} s)

  Gateway        ${info.gatewayUrl}   (OpenAI-compatible API under /v1)
  API key        ${info.apiKey}
  Node address   ${info.inferenceNode}
  local.json     ${shown(localJsonPath(info.stateDir))}

Try it:
  curl ${info.gatewayUrl}/v1/chat/completions \\
    -H "Authorization: Bearer ${info.apiKey}" \\
    -H "Content-Type: application/json" \\
    -d '${body}'

Ctrl-C stops everything.
`);
}

runMain(main, "Run `npm start -- --help` for usage.");
