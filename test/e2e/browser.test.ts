// The protocol library in a real browser: bundled by esbuild for browsers and run in headless
// Chromium (playwright-core with @sparticuz/chromium, no download), it must give the same
// answers as in Node on the test vectors, and on a settled record of the running network checked
// against its chain and tampered with field by field.
import chromium from "@sparticuz/chromium";
import { RECORD_CHECKS } from "@verity/protocol/verify-record";
import { verityClient, verityOf } from "@verity/protocol/verity-client";
import { build } from "esbuild";
import OpenAI from "openai";
import { type Browser, chromium as playwright } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { repoRoot } from "../../scripts/lib/paths.ts";
import { runProtocolSuite, type SuiteInput, type SuiteResult } from "../browser/protocol-suite.ts";
import { RECORD_TAMPERS } from "../fixtures/record-tampers.ts";
import canonical from "../vectors/canonical.json";
import protocolV2 from "../vectors/protocol-v2.json";
import receipts from "../vectors/receipts.json";

const network = inject("localNetwork");
const SETTLED_WITHIN_MS = 60_000;

declare global {
  // Set by the bundle, in the page.
  var verityProtocolSuite: ((input: SuiteInput) => Promise<SuiteResult>) | undefined;
}

let browser: Browser | undefined;
afterAll(() => browser?.close());

describe("the protocol library in headless Chromium", () => {
  let input: SuiteInput;
  beforeAll(async () => {
    const openai = new OpenAI({ baseURL: `${network.gatewayUrl}/v1`, apiKey: network.apiKey });
    const completion = await openai.chat.completions.create({
      model: "verity-ngram-1",
      messages: [{ role: "user", content: "Check me in a browser." }],
      max_tokens: 8,
    });
    const settled = await verityClient({
      baseURL: `${network.gatewayUrl}/v1`,
      apiKey: network.apiKey,
    }).settled(verityOf(completion)?.inferenceId ?? "", {
      timeoutMs: SETTLED_WITHIN_MS,
      intervalMs: 250,
    });
    if (!settled.ok) throw new Error(settled.message);
    input = {
      canonical,
      receipts: receipts as unknown as SuiteInput["receipts"],
      v2: protocolV2 as unknown as SuiteInput["v2"],
      record: settled.record,
      rpcUrl: network.rpcUrl ?? "",
      trustedNode: network.inferenceNode,
    };
  }, SETTLED_WITHIN_MS + 15_000);

  it("gives the same answers as Node on the vectors and the tamper suite, and the right ones", {
    timeout: 60_000,
  }, async () => {
    // The bundle a web page would ship: browser conditions, so keccak's WebAssembly comes
    // from its base64 copy rather than workerd's `.wasm` import.
    const bundle = await build({
      stdin: {
        contents:
          'import { runProtocolSuite } from "./test/browser/protocol-suite.ts";\nglobalThis.verityProtocolSuite = runProtocolSuite;',
        resolveDir: repoRoot,
        loader: "ts",
      },
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      write: false,
      logLevel: "silent",
    });
    const script = bundle.outputFiles[0]?.text ?? "";
    expect(script.length).toBeGreaterThan(1000);

    browser = await playwright.launch({
      executablePath: await chromium.executablePath(),
      args: chromium.args,
      headless: true,
    });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.setContent("<!doctype html><title>Verity protocol suite</title>");
    await page.addScriptTag({ content: script, type: "module" });
    await page.waitForFunction(() => typeof globalThis.verityProtocolSuite === "function");
    const inBrowser = await page.evaluate((suite) => {
      if (!globalThis.verityProtocolSuite) throw new Error("the bundle did not load");
      return globalThis.verityProtocolSuite(suite);
    }, input);
    expect(errors).toEqual([]);
    expect(await page.evaluate(() => navigator.userAgent)).toContain("HeadlessChrome");

    const inNode = await runProtocolSuite(input);
    expect(inBrowser).toEqual(inNode);

    // And the answers are the right ones, not merely the same.
    for (const c of canonical.cases) expect(inNode.canonical[c.name]).toBe(c.canonical);
    for (const c of canonical.rejected) expect(inNode.canonical[c.name]).toMatch(/^error: /);
    for (const v of receipts.vectors) {
      expect(inNode.receipts[v.name]).toEqual({
        requestHash: v.requestHash,
        responseHash: v.responseHash,
        digest: v.digest,
        verified: `ok ${v.receipt.node}`,
      });
    }
    for (const n of receipts.negative) expect(inNode.negative[n.name]).toBe(n.expected.reason);
    expect(inNode.v2).toEqual({
      receiptDigests: [protocolV2.receipt.digest, protocolV2.unsetReceipt.digest],
      receiptsVerified: [`ok ${protocolV2.keys.node}`, `ok ${protocolV2.keys.node}`],
      verdictDigest: protocolV2.verdict.digest,
      verdictsVerified: protocolV2.keys.verifiers.map((v) => `ok ${v}`),
      outcomeDigests: "ok",
      leafFromOutcome: protocolV2.leaves[0]?.hash,
      leafHashes: Object.fromEntries(protocolV2.leaves.map((l) => [l.name, l.hash])),
    });
    expect(inNode.record).toEqual(RECORD_CHECKS.map((check) => `${check}:pass`));
    for (const { field, expected } of RECORD_TAMPERS) {
      expect(inNode.tampers[field]?.map((failed) => failed.split(":")[0])).toEqual(expected);
    }
  });
});
