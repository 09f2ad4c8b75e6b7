import { afterEach, expect, it, vi } from "vitest";
import { fingerprint } from "./check-cache.ts";

afterEach(() => {
  vi.unstubAllEnvs();
});

it("fingerprints the same files without git (a downloaded archive) as with it, by walking them", async () => {
  const inputs = ["packages/protocol/src", "wrangler.toml"];
  const withGit = await fingerprint(inputs);
  // git cannot find a repository there, as in a checkout without .git.
  vi.stubEnv("GIT_DIR", "/nonexistent/verity-no-git");
  const walked = await fingerprint(inputs);
  expect(walked).toBe(withGit);
  expect(await fingerprint(["packages/protocol/src"])).not.toBe(walked);
});
