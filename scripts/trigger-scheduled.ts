// Runs a wrangler dev worker's cron handler every few seconds, since wrangler dev never does.
// `npm start` runs one for the gateway (scheduled-trigger-service.ts); by hand:
//   node scripts/trigger-scheduled.ts --url http://127.0.0.1:8787 [--every 10] [--once]
import { z } from "zod";
import { cliValue, parseCli, runMain, usageError } from "./lib/cli.ts";
import { DEFAULT_CRON, triggerScheduled, triggerScheduledEvery } from "./lib/trigger-scheduled.ts";

const USAGE = `usage: node scripts/trigger-scheduled.ts --url URL [--every S] [--cron EXPR] [--once]

  --url URL      the worker's base URL under wrangler dev
  --every S      seconds between runs (default 10)
  --cron EXPR    what controller.cron says (default "${DEFAULT_CRON}")
  --once         run the handler once and exit (non-zero if it failed)
  --state-dir D  unused; names the local network this driver belongs to in its command line`;

async function main(): Promise<number> {
  const { values } = parseCli(process.argv.slice(2), {
    url: { type: "string" },
    every: { type: "string" },
    cron: { type: "string" },
    once: { type: "boolean" },
    "state-dir": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.url === undefined) throw usageError("--url is required", "--url");
  const url = cliValue("--url", z.url({ protocol: /^https?$/ }), values.url);
  const intervalMs =
    cliValue("--every", z.coerce.number().positive().max(86_400), values.every ?? "10") * 1000;
  const cron = values.cron ?? DEFAULT_CRON;
  if (values.once) {
    await triggerScheduled(url, { cron });
    return 0;
  }
  const aborter = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => aborter.abort(sig));
  }
  const parent = process.ppid;
  let orphaned = false;
  await triggerScheduledEvery(url, {
    intervalMs,
    cron,
    signal: aborter.signal,
    report: (line) => console.error(line),
    // Orphaned (the network that started it was killed outright): nothing left to drive.
    shouldStop: () => {
      orphaned = process.ppid !== parent;
      return orphaned;
    },
  });
  // A driver that stops while its network runs must say why, or nobody can tell.
  console.error(
    orphaned
      ? `stopping: the process that started this driver (pid ${parent}) is gone`
      : `stopping: got ${String(aborter.signal.reason)}`,
  );
  return 0;
}

runMain(main, "Run `node scripts/trigger-scheduled.ts --help` for usage.");
