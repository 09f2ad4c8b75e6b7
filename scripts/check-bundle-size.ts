// Builds each worker as `wrangler deploy --dry-run` would ship it and fails when a bundle is over
// Cloudflare's script-size limit for the free plan (3 MiB gzipped), which the reference model
// makes worth watching.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const LIMIT_BYTES = 3 * 1024 * 1024;
const configs = ["wrangler.toml", "wrangler.verify.toml", "wrangler.settle.toml"];

let failed = false;
for (const config of configs) {
  try {
    readFileSync(config);
  } catch {
    continue;
  }
  const outdir = mkdtempSync(join(tmpdir(), "verity-bundle-"));
  try {
    execFileSync(
      "wrangler",
      ["deploy", "--dry-run", "--outdir", outdir, "-c", config, "--env", "production"],
      {
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    const bytes = readdirSync(outdir)
      .filter((file) => file.endsWith(".js") || file.endsWith(".mjs"))
      .reduce((sum, file) => sum + gzipSync(readFileSync(join(outdir, file))).length, 0);
    const ok = bytes <= LIMIT_BYTES;
    failed ||= !ok;
    console.log(
      `${ok ? "ok  " : "OVER"} ${config}: ${(bytes / 1024).toFixed(0)} KiB gzipped (limit ${LIMIT_BYTES / 1024} KiB)`,
    );
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
process.exit(failed ? 1 : 0);
