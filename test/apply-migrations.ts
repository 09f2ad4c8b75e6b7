import { applyD1Migrations, env, listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { afterAll } from "vitest";

// Test files share one workerd (isolate: false) and so one D1 database. Each file starts as it
// would on a fresh one: migrated (applying is idempotent), with every table empty.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
const { results: tables } = await env.DB.prepare(
  `select name from sqlite_master
   where type = 'table' and name not like 'sqlite_%' and name not like '_cf_%' and name != 'd1_migrations'`,
).all<{ name: string }>();
// One transaction, with foreign keys checked at its end, so the tables empty in any order.
await env.DB.batch([
  env.DB.prepare("pragma defer_foreign_keys = on"),
  ...tables.map(({ name }) => env.DB.prepare(`delete from "${name}"`)),
]);

// A verification round that a file left waiting on its deadline would wake up during a later
// file: each file stops the rounds it leaves behind.
afterAll(async () => {
  if (!("VERIFICATION_ROUND" in env)) return;
  const rounds = env.VERIFICATION_ROUND as DurableObjectNamespace;
  for (const id of await listDurableObjectIds(rounds)) {
    await runInDurableObject(rounds.get(id), (_, state) => state.storage.deleteAlarm());
  }
});
