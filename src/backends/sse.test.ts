import { describe, expect, it } from "vitest";
import { byteStream, collect } from "../../test/backends/byte-stream";
import { readServerSentEvents } from "./sse";

const datas = async (text: string, every?: number) =>
  (await collect(readServerSentEvents(byteStream(text, { every }).stream))).map((e) => e.data);

describe("readServerSentEvents", () => {
  it("reassembles events cut at every byte offset, multi-byte characters included", async () => {
    const body = 'data: {"response":"café — 日本"}\n\ndata: {"response":"🙂"}\n\ndata: [DONE]\n\n';
    for (let every = 1; every <= 9; every++) {
      expect(await datas(body, every)).toEqual([
        '{"response":"café — 日本"}',
        '{"response":"🙂"}',
        "[DONE]",
      ]);
    }
  });

  it("accepts CRLF, CR and LF line ends, including a CRLF split across chunks", async () => {
    expect(await datas("data: a\r\n\r\ndata: b\r\rdata: c\n\n", 7)).toEqual(["a", "b", "c"]);
    expect(await datas("data: a\r\n\r\ndata: b\r\n\r\n", 8)).toEqual(["a", "b"]);
  });

  it("joins multi-line data with newlines and skips comments, ids and empty events", async () => {
    const body =
      ": keep-alive\n\nid: 7\nretry: 100\ndata: line one\ndata:line two\n\nevent: ping\n\n";
    expect(await datas(body, 5)).toEqual(["line one\nline two"]);
  });

  it("names events, and surfaces llama.cpp's legacy `error:` line as an error event", async () => {
    const body = 'event: update\ndata: 1\n\nerror: {"code":500,"message":"boom"}\n\n';
    expect(await collect(readServerSentEvents(byteStream(body).stream))).toEqual([
      { event: "update", data: "1" },
      { event: "error", data: '{"code":500,"message":"boom"}' },
    ]);
  });

  it("dispatches a last event that the server did not close with a blank line", async () => {
    expect(await datas('data: {"x":1}\n\ndata: [DONE]', 4)).toEqual(['{"x":1}', "[DONE]"]);
  });

  it("yields each event before the rest of the body has arrived", async () => {
    let release = () => {};
    const body = byteStream("data: first\n\ndata: second\n\n", {
      every: 13,
      holdAfter: 1,
      release: new Promise<void>((resolve) => {
        release = resolve;
      }),
    });
    const events = readServerSentEvents(body.stream);
    expect((await events.next()).value).toEqual({ event: "message", data: "first" });
    release();
    expect((await events.next()).value).toEqual({ event: "message", data: "second" });
  });

  it("cancels the body when the consumer stops early", async () => {
    const body = byteStream("data: 1\n\ndata: 2\n\ndata: 3\n\n", { every: 9 });
    for await (const event of readServerSentEvents(body.stream)) {
      if (event.data === "1") break;
    }
    await expect(body.cancelled).resolves.toBeUndefined();
    expect(body.pulled).toBeLessThan(3);
  });

  it("rejects with the abort reason and cancels the body when the signal aborts", async () => {
    const body = byteStream("data: 1\n\ndata: 2\n\n", {
      every: 9,
      holdAfter: 1,
      release: new Promise<void>(() => {}),
    });
    const controller = new AbortController();
    const events = readServerSentEvents(body.stream, controller.signal);
    await events.next();
    const next = events.next();
    const reason = new DOMException("client went away", "AbortError");
    controller.abort(reason);
    await expect(next).rejects.toBe(reason);
    await expect(body.cancelled).resolves.toBe(reason);
  });
});
