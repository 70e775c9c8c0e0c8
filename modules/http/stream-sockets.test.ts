import { expect, test } from "bun:test";
import type { Server, ServerWebSocket } from "bun";
import { memoryLogger } from "../../src/log.ts";
import { MAX_BUFFERED, StreamSockets, type FrameSink, type SocketData, type StreamSession } from "./stream-sockets.ts";

/**
 * The sockets' bookkeeping for every stream, with a stand-in for Bun's socket whose unsent bytes the test
 * sets: a client that stops reading cannot be made from Bun's own WebSocket (tests/slow-client.test.ts
 * does it for real, through a raw socket, on the alert stream that runs on this same code).
 */
function fakeSocket(data: SocketData) {
  const sent: string[] = [];
  const closed: Array<[number, string]> = [];
  let buffered = 0;
  const ws = {
    data,
    send: (s: string) => void sent.push(s),
    close: (code: number, reason: string) => void closed.push([code, reason]),
    getBufferedAmount: () => buffered,
  };
  return { ws: ws as unknown as ServerWebSocket<SocketData>, sent, closed, setBuffered: (n: number) => (buffered = n) };
}

class Recorder implements StreamSession {
  out: FrameSink | null = null;
  closed = false;
  open(out: FrameSink) {
    this.out = out;
    out.send({ type: "hello" });
  }
  close() {
    this.closed = true;
  }
}

const server = (accept: boolean) => ({ upgrade: () => accept }) as unknown as Server<SocketData>;

test("a client with more than 4 MiB unsent is closed with 1013 once, logged with its stream and token; the others are not held back", () => {
  const log = memoryLogger();
  const counts: Array<[string, number]> = [];
  const sockets = new StreamSockets(10, log, (s, n) => counts.push([s, n]));
  const slow = new Recorder();
  const fast = new Recorder();
  const a = fakeSocket({ tokenId: "tok_a", stream: "incident", session: slow });
  const b = fakeSocket({ tokenId: "tok_b", stream: "patrol", session: fast });
  sockets.websocket.open!(a.ws);
  sockets.websocket.open!(b.ws);
  expect(a.sent.map((s) => JSON.parse(s).type)).toEqual(["hello"]);
  a.setBuffered(MAX_BUFFERED + 1);
  expect(slow.out!.send({ type: "incident" })).toBe(false);
  expect(slow.out!.send({ type: "incident" })).toBe(false);
  expect(a.closed).toEqual([[1013, "client too slow; reconnect with ?since=<cursor>"]]);
  expect(fast.out!.send({ type: "patrol" })).toBe(true);
  expect(b.sent).toHaveLength(2);
  expect(log.lines.filter((l) => String(l.msg).includes("too slow")).map((l) => l.msg)).toEqual([
    `http: incident stream client of token tok_a too slow (${MAX_BUFFERED + 1} bytes unsent); closed with 1013`,
  ]);
  sockets.websocket.close!(a.ws, 1013, "");
  expect(slow.closed).toBe(true);
  expect(counts).toEqual([
    ["incident", 1],
    ["patrol", 1],
    ["incident", 0],
  ]);
});

test("each token holds at most wsPerToken sockets over every stream; a closed or failed upgrade frees its place", () => {
  const sockets = new StreamSockets(2, memoryLogger());
  const data = (stream: string) => ({ tokenId: "tok_a", stream, session: new Recorder() });
  expect(sockets.upgrade(server(true), new Request("http://x/"), data("alert"), null)).toEqual({ ok: true });
  expect(sockets.upgrade(server(false), new Request("http://x/"), data("incident"), null)).toMatchObject({ ok: false, status: 426 });
  expect(sockets.upgrade(server(true), new Request("http://x/"), data("patrol"), "acu.bearer.x")).toEqual({ ok: true });
  const over = sockets.upgrade(server(true), new Request("http://x/"), data("incident"), null);
  expect(over).toMatchObject({ ok: false, status: 429, error: expect.stringContaining("ACU_WS_PER_TOKEN") });
  expect(sockets.upgrade(server(true), new Request("http://x/"), { ...data("alert"), tokenId: "tok_b" }, null)).toEqual({ ok: true });
  const s = fakeSocket(data("patrol"));
  sockets.websocket.open!(s.ws);
  sockets.websocket.close!(s.ws, 1000, "");
  expect(sockets.upgrade(server(true), new Request("http://x/"), data("incident"), null)).toEqual({ ok: true });
});
