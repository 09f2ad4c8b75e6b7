import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** anvil's first account (funded with 10,000 ETH): the deployer and registry owner in tests. */
export const ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/** anvil's second account: a funded stranger, who must not be able to manage the registry. */
export const ANVIL_KEY_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
export const ANVIL_CHAIN_ID = 31337;

export interface Anvil {
  rpcUrl: string;
  port: number;
  /** Stops anvil and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);
const arch = process.arch === "x64" ? "amd64" : process.arch;

// The platform binary itself, not the `anvil` Node wrapper: one process to kill, nothing
// left behind if the wrapper is killed without forwarding the signal.
function anvilBinary(): string {
  try {
    return require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/bin/anvil`);
  } catch {
    return require.resolve("@foundry-rs/anvil/bin.mjs");
  }
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no TCP port was assigned");
  return address.port;
}

async function rpcAnswers(rpcUrl: string): Promise<boolean> {
  try {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timedOut = await Promise.race([exited.then(() => false), sleep(5_000).then(() => true)]);
  if (timedOut) {
    child.kill("SIGKILL");
    await exited;
  }
}

async function tryStart(extraArgs: readonly string[]): Promise<Anvil | undefined> {
  const port = await freePort();
  const rpcUrl = `http://127.0.0.1:${port}`;
  const child = spawn(
    anvilBinary(),
    ["--host", "127.0.0.1", "--port", String(port), "--silent", ...extraArgs],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  running.add(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.once("exit", () => running.delete(child));
  const stop = async () => {
    await stopChild(child);
    running.delete(child);
  };

  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      // Another process took the port between freePort() and anvil binding it: try another.
      if (/address already in use/i.test(stderr)) return undefined;
      throw new Error(`anvil exited (${child.exitCode ?? child.signalCode}): ${stderr.trim()}`);
    }
    if (await rpcAnswers(rpcUrl)) return { rpcUrl, port, stop };
    await sleep(50);
  }
  await stop();
  throw new Error(`anvil did not answer on ${rpcUrl} within 30 s: ${stderr.trim()}`);
}

/** Starts a fresh anvil on a free 127.0.0.1 port and waits until its RPC answers. */
export async function startAnvil(extraArgs: readonly string[] = []): Promise<Anvil> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const anvil = await tryStart(extraArgs);
    if (anvil) return anvil;
  }
  throw new Error("anvil could not bind a free port in 5 attempts");
}
