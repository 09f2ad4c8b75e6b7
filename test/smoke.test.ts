import { env, exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("serves the root route from workerd with migrations applied", async () => {
  const res = await exports.default.fetch("http://x/");
  expect(await res.text()).toBe("ok");
  const tables = await env.DB.prepare("select name from sqlite_master where type='table'").all();
  expect(tables.results.map((r) => r.name)).toContain("inferences");
});
