import { INFERENCE_ID_HEADER } from "@verity/protocol/verity-client";
import type { Context } from "hono";
import { errorResponse } from "../../http/error-response";
import type { ChatRun } from "./chat-run";
import type { GatewayEnv } from "./gateway-env";

/** Writes one Server-Sent Event: `data` as JSON, under an `event:` name when given. */
export type SendEvent = (data: unknown, event?: string) => Promise<void>;

export interface SseOptions {
  /** Written last when the pump succeeds: Chat and Completions end with `data: [DONE]`. */
  doneMarker?: string;
  /** The event that reports a failure mid-stream, from OpenAI's error object. */
  failure?: (error: unknown) => { data: unknown; event?: string };
}

/**
 * Answers with an event stream fed by `pump`, off the response path. A failure mid-stream is
 * sent as an error event, the backend is stopped, and the stream ends without the done marker,
 * so a client can tell a complete answer from a cut one; no record or receipt exists for it.
 */
export function sseResponse(
  c: Context<GatewayEnv>,
  run: ChatRun,
  pump: (send: SendEvent) => Promise<void>,
  options: SseOptions = {},
): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  const send: SendEvent = (data, event) =>
    writer.write(
      encoder.encode(`${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`),
    );
  const failure: NonNullable<SseOptions["failure"]> =
    options.failure ?? ((error) => ({ data: { error } }));

  // Set when the client stops reading: the writes then fail, and that is no error of ours.
  let gone = false;
  writer.closed.catch(() => {
    gone = true;
  });
  const pumpAll = async () => {
    try {
      await pump(send);
      if (options.doneMarker) await writer.write(encoder.encode(`data: ${options.doneMarker}\n\n`));
      await writer.close();
    } catch (err) {
      run.cancel(err);
      // The failed write and the closed stream settle in the same turn, in either order.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (gone) return;
      const { error } = (await errorResponse(err).json()) as { error: unknown };
      const event = failure(error);
      await send(event.data, event.event).catch(() => {});
      await writer.close().catch(() => {});
    }
  };
  c.executionCtx.waitUntil(pumpAll());
  return new Response(readable, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      [INFERENCE_ID_HEADER]: run.id,
    },
  });
}
