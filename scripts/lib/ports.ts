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
