import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { expect, it, vi } from "vitest";
import { fingerprint } from "./check-cache.ts";

// A fresh copy of the module, with nothing remembered in memory: what another process sees.
async function freshPrebuiltWorker() {
  vi.resetModules();
  return (await import("./worker-build.ts")).prebuiltWorker;
}

it("builds a worker once per state of its sources, and a later process reuses the build from disk", async () => {
  const entry = await (await freshPrebuiltWorker())("wrangler.verify.toml");
  const { workerBuildInputs } = await import("./worker-build.ts");
  // What the bundle imports from outside src/ must be among the inputs, or an edit there would
  // be served stale.
  expect(workerBuildInputs("wrangler.verify.toml")).toEqual(
    expect.arrayContaining(["packages/protocol", "contracts/generated"]),
  );
  const stamp = await fingerprint(workerBuildInputs("wrangler.verify.toml"));
  expect(path.basename(path.dirname(entry))).toBe(`wrangler.verify-${stamp.slice(0, 16)}`);
  // One module that `wrangler dev --no-bundle` can run as it is: the verifier's exports, and
  // every module it imports (the keccak WebAssembly) beside it.
  const code = await readFile(entry, "utf8");
  expect(code).toMatch(/export \{[^}]*HeartbeatScheduler[^}]*as default/);
  const imports = [...code.matchAll(/^import .* from "\.\/(.+)";$/gm)].map((m) => m[1] ?? "");
  expect(imports).toContainEqual(expect.stringMatching(/keccak\.wasm$/));
  for (const file of imports) await stat(path.join(path.dirname(entry), file));
  const built = await stat(entry);

  const again = await (await freshPrebuiltWorker())("wrangler.verify.toml");
  expect(again).toBe(entry);
  expect((await stat(again)).mtimeMs).toBe(built.mtimeMs);
});
