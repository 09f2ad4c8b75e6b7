/** One dispatched server-sent event. `event` is "message" unless the stream named it. */
export interface ServerSentEvent {
  event: string;
  data: string;
}

/**
 * Reads a `text/event-stream` body and yields each event as soon as its closing blank line
 * arrives, however the bytes were split into chunks (WHATWG HTML "event stream interpretation":
 * CRLF, LF or CR line ends; `data` lines joined by "\n"; comments and `id`/`retry` ignored).
 *
 * Two deliberate leniencies: an `error: {...}` line, which llama.cpp servers wrote before they
 * switched to `data: {"error": ...}`, is surfaced as an event named "error"; and an event still
 * pending when the body ends is dispatched rather than dropped, because some servers end on
 * `data: [DONE]` without the closing blank line.
 *
 * Aborting `signal` cancels the body and rejects with the signal's reason. Stopping the
 * iteration early also cancels the body, so the upstream stops generating.
 */
export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<ServerSentEvent, void, undefined> {
  const reader = body.getReader();
  const onAbort = () => {
    reader.cancel(signal?.reason).catch(() => {});
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  const decoder = new TextDecoder();
  const parser = new EventParser();
  let buffer = "";
  try {
    signal?.throwIfAborted();
    for (;;) {
      const { value, done } = await reader.read();
      signal?.throwIfAborted();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let start = 0;
      for (;;) {
        const end = lineEnd(buffer, start);
        if (end === -1) break;
        const event = parser.line(buffer.slice(start, end));
        // A CR may be the first half of a CRLF whose LF is in the next chunk; lineEnd waits for it.
        start = buffer[end] === "\r" && buffer[end + 1] === "\n" ? end + 2 : end + 1;
        if (event) yield event;
      }
      buffer = buffer.slice(start);
    }
    buffer += decoder.decode();
    for (const line of buffer.split(/\r\n|\r|\n/)) {
      const event = parser.line(line);
      if (event) yield event;
    }
    const pending = parser.line("");
    if (pending) yield pending;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    // Releases the upstream when the consumer stopped early; a no-op on a finished body.
    await reader.cancel().catch(() => {});
  }
}

/** Index of the next line terminator at or after `from`, or -1 while the line is incomplete. */
function lineEnd(buffer: string, from: number): number {
  for (let i = from; i < buffer.length; i++) {
    const char = buffer[i];
    if (char === "\n") return i;
    if (char === "\r") return i + 1 < buffer.length ? i : -1;
  }
  return -1;
}

class EventParser {
  #data: string[] = [];
  #event = "";

  /** Feeds one line (without its terminator); returns an event when the line completes one. */
  line(line: string): ServerSentEvent | undefined {
    if (line === "") {
      const data = this.#data;
      const event = this.#event || "message";
      this.#data = [];
      this.#event = "";
      return data.length > 0 ? { event, data: data.join("\n") } : undefined;
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value;
    else if (field === "error") {
      this.#event = "error";
      this.#data.push(value);
    }
    return undefined;
  }
}
