// Test support: byte streams that behave like a network body (one chunk per read, split at
// arbitrary byte offsets, cancellation observable).

const encoder = new TextEncoder();

/** A controllable body: `stream` hands out `chunks` one read at a time. */
export interface ByteStream {
  stream: ReadableStream<Uint8Array>;
  /** Resolves with the cancel reason once the consumer cancels the stream. */
  cancelled: Promise<unknown>;
  /** How many chunks the consumer has pulled so far. */
  readonly pulled: number;
}

/**
 * A body delivering `text` cut every `every` bytes, so that cuts land inside `data:` prefixes,
 * inside JSON and inside multi-byte UTF-8 characters; given an array, one chunk per element.
 * `holdAfter` chunks in, it stops sending until `release` resolves, like an upstream still
 * generating.
 */
export function byteStream(
  text: string | string[],
  options: { every?: number; holdAfter?: number; release?: Promise<void> } = {},
): ByteStream {
  const chunks: Uint8Array[] = [];
  if (Array.isArray(text)) {
    for (const part of text) chunks.push(encoder.encode(part));
  } else {
    const bytes = encoder.encode(text);
    const every = options.every ?? bytes.length;
    for (let i = 0; i < bytes.length; i += every) chunks.push(bytes.slice(i, i + every));
  }
  let resolveCancel: (reason: unknown) => void = () => {};
  const cancelled = new Promise<unknown>((resolve) => {
    resolveCancel = resolve;
  });
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pulled === options.holdAfter && options.release) await options.release;
        const chunk = chunks[pulled];
        pulled++;
        if (chunk) controller.enqueue(chunk);
        else controller.close();
      },
      cancel(reason) {
        resolveCancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return {
    stream,
    cancelled,
    get pulled() {
      return pulled;
    },
  };
}

/** Formats `data` payloads as a `text/event-stream` body, as servers write them. */
export const sse = (...payloads: (string | object)[]): string =>
  payloads
    .map(
      (payload) => `data: ${typeof payload === "string" ? payload : JSON.stringify(payload)}\n\n`,
    )
    .join("");

/** Drains an async iterable, or what is left of an iterator, into an array. */
export async function collect<T>(source: AsyncIterable<T> | AsyncIterator<T>): Promise<T[]> {
  const iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source;
  const items: T[] = [];
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    items.push(next.value);
  }
  return items;
}
