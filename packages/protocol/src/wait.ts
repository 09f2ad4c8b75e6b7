/**
 * Waits `ms`, or until `signal` aborts, whichever comes first; never rejects. In every runtime
 * the protocol runs in (workerd, Node, browsers).
 */
export function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
