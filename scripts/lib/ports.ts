import { once } from "node:events";
import { createServer } from "node:net";
import { conflict } from "./script-error.ts";

/** A TCP port that is free on `host` right now (the OS picks it). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return address.port;
}

/** Fails with a clear message if something already listens on `host:port`. */
export async function assertPortFree(port: number, host = "127.0.0.1"): Promise<void> {
  const server = createServer();
  try {
    server.listen(port, host);
    await Promise.race([
      once(server, "listening"),
      once(server, "error").then(([err]) => {
        throw err;
      }),
    ]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw conflict(
        `Port ${port} on ${host} is in use (another \`npm start\`?). Stop it or pass --port.`,
        "port_in_use",
      );
    }
    throw err;
  } finally {
    if (server.listening) {
      server.close();
      await once(server, "close");
    }
  }
}

// Below Linux's ephemeral range (32768-60999 by default), from which every `listen(0)` draws:
// a port chosen there now may be handed to another process before our server binds it.
const RUN_PORTS_FROM = 20_000;
const RUN_PORTS_TO = 32_767;

/**
 * A port `p` such that `p` to `p + count - 1` are all free on `host` right now: a local
 * network's gateway port, its verifiers' ports following it. Drawn at random below the ephemeral
 * range, so that other programs' `listen(0)` do not take them before the network binds them.
 */
export async function freePortRun(count: number, host = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base =
      RUN_PORTS_FROM + Math.floor(Math.random() * (RUN_PORTS_TO - RUN_PORTS_FROM - count + 2));
    let free = true;
    for (let port = base; port < base + count && free; port++) {
      free = await assertPortFree(port, host).then(
        () => true,
        () => false,
      );
    }
    if (free) return base;
  }
  throw conflict(`Found no ${count} free consecutive ports on ${host}.`, "no_free_ports");
}
