#!/usr/bin/env node
// `npx verity`. The CLI is TypeScript (scripts/verity.ts) over the protocol sources, whose imports
// have no extensions, so Node cannot run it as is. Loading it through a TypeScript loader cost
// 2.5 CPU-seconds a run; instead it is bundled once with esbuild (dependencies stay external)
// into node_modules/.cache, and bundled again only when one of the files it was built from
// changes, which the contents' hash tells.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = path.resolve(fileURLToPath(import.meta.url), "../../../..");
const entry = path.join(repoRoot, "scripts/verity.ts");
const cacheDir = path.join(repoRoot, "node_modules/.cache/verity-cli");
const bundlePath = path.join(cacheDir, "verity.mjs");
const manifestPath = path.join(cacheDir, "manifest.json");

/** The hash of the files a bundle was built from, in the order listed; null if one is gone. */
async function hashOf(files) {
  const hash = createHash("sha256");
  for (const file of files) {
    try {
      hash
        .update(file)
        .update("\0")
        .update(await readFile(path.join(repoRoot, file)));
    } catch {
      return null;
    }
  }
  return hash.digest("hex");
}

async function upToDateBundle() {
  try {
    const manifest = JSON.parse(await readFile(manifestPath, "utf8"));
    return (await hashOf(manifest.inputs)) === manifest.hash ? bundlePath : null;
  } catch {
    return null;
  }
}

// The bundle lives elsewhere than its sources: each source keeps its own import.meta.url, so
// that paths computed from it (the repo root, the default state directory) stay right.
const ownImportMetaUrl = {
  name: "own-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => ({
      contents: (await readFile(args.path, "utf8")).replaceAll(
        "import.meta.url",
        JSON.stringify(pathToFileURL(args.path).href),
      ),
      loader: "ts",
    }));
  },
};

// The protocol is this package's own TypeScript: bundled, while every other package stays external.
const protocolSources = {
  name: "protocol-sources",
  setup(build) {
    build.onResolve({ filter: /^@verity\/protocol(\/.*)?$/ }, (args) => ({
      path: path.join(repoRoot, "packages/protocol/src", `${args.path.slice(17) || "/index"}.ts`),
    }));
  },
};

async function rebuild() {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: repoRoot,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    packages: "external",
    metafile: true,
    write: false,
    logLevel: "silent",
    plugins: [protocolSources, ownImportMetaUrl],
  });
  const inputs = Object.keys(result.metafile.inputs).sort();
  await mkdir(cacheDir, { recursive: true });
  // Written under temporary names and renamed: a concurrent run sees the old bundle or the new.
  const suffix = `.${process.pid}.tmp`;
  await writeFile(bundlePath + suffix, result.outputFiles[0].contents);
  await rename(bundlePath + suffix, bundlePath);
  await writeFile(manifestPath + suffix, JSON.stringify({ inputs, hash: await hashOf(inputs) }));
  await rename(manifestPath + suffix, manifestPath);
  return bundlePath;
}

const bundle = (await upToDateBundle()) ?? (await rebuild());
await import(pathToFileURL(bundle).href);
