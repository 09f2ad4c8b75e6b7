// `npx verity`: check an answer yourself. Fetches a record from the gateway (or reads an exported
// file), then checks every link against the chain with the protocol library's verifyRecord.
// Defaults come from a running `npm start`'s local.json; every one has a flag.
import { readFile } from "node:fs/promises";
import { chainView } from "@verity/protocol/chain-view";
import { InferenceId } from "@verity/protocol/inference-id";
import {
  type RecordCheckStatus,
  type RecordVerification,
  verifyRecord,
} from "@verity/protocol/verify-record";
import { type RecordFetch, verityClient } from "@verity/protocol/verity-client";
import type { VerityRecord } from "@verity/protocol/verity-record";
import { type Address, createPublicClient, getAddress, http } from "viem";
import { z } from "zod";
import { notFound, VerityError } from "../src/errors.ts";
import { cliValue, parseCli, runMain, usageError } from "./lib/cli.ts";
import { readLocalJson } from "./lib/local-json.ts";
import { resolveStateDir } from "./lib/state-dir.ts";
import { watchRound } from "./lib/watch-round.ts";

const USAGE = `usage: npx verity <command> [options]

commands:
  verify <inference-id>        fetch the record and its proof, check every link
  verify --file record.json    check an exported record, with only a chain RPC
  export <inference-id>        print the record as one self-contained JSON file
  watch <inference-id>         follow the round live: committee, verdicts, decision, settlement

options (defaults from the running npm start's local.json):
  --gateway URL       the gateway's base URL
  --key KEY           the API key that made the call
  --rpc URL           the chain's JSON-RPC URL (settlement and the registry are checked there)
  --node ADDRESS      a trusted inference node (repeatable)
  --confirmations N   blocks the settling block needs, itself included (default 2)
  --json              print the checks as JSON
  --state-dir DIR     where npm start keeps local.json (default .verity)

verify prints one line per check (✓ pass, ✗ fail with its reason, … pending, – unchecked) and
exits 1 if any check fails.`;

const Command = z.enum(["verify", "export", "watch"], {
  error: "the command must be verify, export or watch",
});
const Url = z.url({ protocol: /^https?$/ });
const NodeAddress = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "not an address")
  .transform((a) => getAddress(a));
const Confirmations = z.coerce.number().int().min(1).max(1_000);

const MARKS: Record<RecordCheckStatus, string> = {
  pass: "✓",
  fail: "✗",
  pending: "…",
  unchecked: "–",
};

async function main(): Promise<number> {
  const { values, positionals } = parseCli(
    process.argv.slice(2),
    {
      gateway: { type: "string" },
      key: { type: "string" },
      rpc: { type: "string" },
      node: { type: "string", multiple: true },
      confirmations: { type: "string" },
      file: { type: "string" },
      json: { type: "boolean" },
      "state-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    true,
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [commandName, ...rest] = positionals;
  if (commandName === undefined) throw usageError("no command given: verify, export or watch");
  const command = cliValue("command", Command, commandName);
  const local = await readLocalJson(resolveStateDir(values["state-dir"]));
  const fromFile = values.file !== undefined;
  if (fromFile && command !== "verify") throw usageError("--file applies to verify only", "--file");
  if (rest.length !== (fromFile ? 0 : 1)) {
    throw usageError(
      fromFile ? "verify --file takes no inference id" : `${command} takes one inference id`,
    );
  }

  const gateway = () => {
    const gatewayUrl = values.gateway ?? local?.gatewayUrl;
    const apiKey = values.key ?? local?.apiKey;
    if (!gatewayUrl || !apiKey) {
      throw usageError(
        "no gateway: pass --gateway URL and --key KEY, or run npm start",
        "--gateway",
      );
    }
    return { gatewayUrl: cliValue("--gateway", Url, gatewayUrl), apiKey };
  };
  const inferenceId = () => cliValue("inference id", InferenceId, rest[0]);

  const fetchRecord = async () => {
    const { gatewayUrl, apiKey } = gateway();
    return recordOrThrow(
      await verityClient({ baseURL: `${gatewayUrl.replace(/\/+$/, "")}/v1`, apiKey }).record(
        inferenceId(),
      ),
    );
  };

  if (command === "export") {
    const record = await fetchRecord();
    console.log(JSON.stringify(record, null, 2));
    return 0;
  }
  if (command === "watch") {
    return watchRound(gateway(), inferenceId(), (line) => console.log(line));
  }

  const record = fromFile ? await readRecordFile(values.file ?? "") : await fetchRecord();
  const rpc = values.rpc ?? local?.rpcUrl;
  const nodes: Address[] = values.node
    ? values.node.map((node) => cliValue("--node", NodeAddress, node))
    : local
      ? [local.inferenceNode]
      : [];
  const verification = await verifyRecord(record, {
    chain: rpc
      ? chainView(createPublicClient({ transport: http(cliValue("--rpc", Url, rpc)) }))
      : undefined,
    trustedNodes: nodes,
    confirmations:
      values.confirmations === undefined
        ? undefined
        : cliValue("--confirmations", Confirmations, values.confirmations),
  });
  console.log(
    values.json ? JSON.stringify(verification, null, 2) : formatVerification(verification),
  );
  return verification.ok ? 0 : 1;
}

/** The record, or the gateway's refusal as the error the script prints (exit 1). */
function recordOrThrow(fetched: RecordFetch): VerityRecord {
  if (fetched.ok) return fetched.record;
  throw new VerityError(fetched.message, {
    status: fetched.reason === "not_found" ? 404 : 502,
    type: "api_error",
    code: fetched.reason,
  });
}

async function readRecordFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw notFound(`Cannot read the record file ${file}.`, "file_not_found", "--file");
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw usageError(`${file} is not JSON: ${(err as Error).message}`, "--file");
  }
}

/** One line per check, then a verdict line. */
export function formatVerification(verification: RecordVerification): string {
  const width = Math.max(...verification.checks.map((c) => c.check.length));
  const lines = verification.checks.map(
    (c) =>
      `${MARKS[c.status]} ${c.check.padEnd(width)}  ${c.reason ? `${c.reason}: ` : ""}${c.detail}`,
  );
  const failed = verification.checks.filter((c) => c.status === "fail").length;
  lines.push(
    failed > 0
      ? `✗ ${failed} check(s) failed: do not trust this record`
      : verification.complete
        ? "✓ verified and settled: every link checks out against the chain"
        : "✓ no check failed so far; the links marked … or – are not checked yet",
  );
  return lines.join("\n");
}

runMain(main, USAGE);
