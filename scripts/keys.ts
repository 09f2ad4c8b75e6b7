// `npm run keys -- create|list|revoke`: API keys in the local database (the one `npm start`
// uses) or, with --remote, in the deployed one.
import { existsSync } from "node:fs";
import { z } from "zod";
import { notFound } from "../src/errors.ts";
import {
  ApiKeyId,
  ApiKeyName,
  createApiKey,
  listApiKeys,
  RateLimitPerMinute,
  revokeApiKey,
} from "./lib/api-key-store.ts";
import { cliValue, parseCli, runMain, usageError } from "./lib/cli.ts";
import type { D1Target } from "./lib/d1.ts";
import { formatApiKeys } from "./lib/format-api-keys.ts";
import { resolveStateDir, wranglerPersistDir } from "./lib/state-dir.ts";

const USAGE = `usage: npm run keys -- <command> [options]

commands:
  create --name NAME [--rate-limit N]   make a key (N requests per minute; default 600)
  list                                  show every key (never the secret)
  revoke KEY_ID                         revoke a key at once

where:
  (default)                  the local database of \`npm start\` (--state-dir DIR or $VERITY_STATE_DIR)
  --remote [--env NAME]      the deployed database, through wrangler (e.g. --env production)`;

const Command = z.enum(["create", "list", "revoke"], {
  error: "the command must be create, list or revoke",
});
const EnvName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "not a wrangler environment name");

async function main(): Promise<number> {
  const { values, positionals } = parseCli(
    process.argv.slice(2),
    {
      name: { type: "string" },
      "rate-limit": { type: "string" },
      remote: { type: "boolean" },
      env: { type: "string" },
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
  if (commandName === undefined) throw usageError("no command given: create, list or revoke");
  const command = cliValue("command", Command, commandName);
  if (values.env !== undefined && !values.remote) {
    cliValue("--env", z.never({ error: "only applies with --remote" }), values.env);
  }
  if (values.remote && values["state-dir"] !== undefined) {
    cliValue(
      "--state-dir",
      z.never({ error: "does not apply with --remote" }),
      values["state-dir"],
    );
  }
  const stateDir = resolveStateDir(values["state-dir"]);
  if (!values.remote && !existsSync(wranglerPersistDir(stateDir))) {
    throw notFound(
      `There is no local database in ${stateDir} yet: run \`npm start\` once (it creates it), or pass --remote.`,
      "no_local_database",
    );
  }
  const target: D1Target = values.remote
    ? {
        kind: "remote",
        env: values.env === undefined ? undefined : cliValue("--env", EnvName, values.env),
      }
    : { kind: "local", persistTo: wranglerPersistDir(stateDir) };
  const where =
    target.kind === "local"
      ? "local database"
      : `remote database${target.env ? ` (env ${target.env})` : ""}`;
  const expectArgs = (count: number) => {
    if (rest.length !== count) {
      throw usageError(`${command} takes ${count === 0 ? "no arguments" : `${count} argument`}`);
    }
  };

  if (command === "create") {
    expectArgs(0);
    if (values.name === undefined) throw usageError("create needs --name NAME", "--name");
    const name = cliValue("--name", ApiKeyName, values.name);
    const rateLimitPerMinute =
      values["rate-limit"] === undefined
        ? undefined
        : cliValue("--rate-limit", RateLimitPerMinute, values["rate-limit"]);
    const { key, record } = await createApiKey(target, { name, rateLimitPerMinute });
    console.log(`Created API key ${record.id} "${record.name}" in the ${where}, ${record.rateLimitPerMinute} requests/min:

  ${key}

Copy it now: it is not stored anywhere (only its SHA-256 is), and it will not be shown again.`);
    return 0;
  }

  if (command === "list") {
    expectArgs(0);
    if (values.name !== undefined || values["rate-limit"] !== undefined) {
      throw usageError("list takes no --name or --rate-limit");
    }
    const keys = await listApiKeys(target);
    if (keys.length === 0) {
      console.log(`No API keys in the ${where}.`);
      return 0;
    }
    console.log(formatApiKeys(keys));
    return 0;
  }

  expectArgs(1);
  const id = cliValue("KEY_ID", ApiKeyId, rest[0]);
  const { record, alreadyRevoked } = await revokeApiKey(target, id);
  const when = new Date(record.revokedAt ?? 0).toISOString();
  console.log(
    alreadyRevoked
      ? `${record.id} "${record.name}" was already revoked (${when}); nothing changed.`
      : `Revoked ${record.id} "${record.name}" in the ${where} at ${when}. Requests with it now get 401.`,
  );
  return 0;
}

// Ctrl-C: exit through process.exit, so that the exit hook stops a wrangler still running.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(130));

runMain(main, "Run `npm run keys -- --help` for usage.");
