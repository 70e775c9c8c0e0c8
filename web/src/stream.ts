/**
 * One WebSocket that reconnects by itself: the alert feed, the incident board and the patrol's page all
 * resume from the last cursor received (`?since=`), so what happened while the socket was down is replayed
 * and nothing is lost (docs/api.md). The token travels as the `acu.bearer.<token>` subprotocol.
 */
import { currentToken } from "./token.ts";

export type StreamState = { kind: "connecting" } | { kind: "live" } | { kind: "down"; retryAt: number; failures: number } | { kind: "gap" };

export interface Frame {
  type: string;
  cursor?: string;
}

export interface StreamOptions<F extends Frame> {
  /** The stream's path and its query (without `since`), read at each connection. */
  url: () => { path: string; params?: Record<string, string> };
  onFrame(frame: F): void;
  /** The frame after which the stream is live (its replay is over): `hello`, or the patrol's `assignment`. */
  isLive(frame: F): boolean;
  onState(state: StreamState): void;
}

export class ResumableStream<F extends Frame> {
  private ws: WebSocket | null = null;
  private cursor: string | null = null;
  private failures = 0;
  private opened = false;
  private holdUntil = 0;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** WebSocket URLs opened, newest last (shown to tests). */
  readonly connections: string[] = [];

  constructor(private readonly opts: StreamOptions<F>) {}

  /** Connects, resuming from `cursor` when one is given (e.g. the one a history call answered with). */
  start(cursor: string | null = this.cursor): void {
    this.cursor = cursor;
    this.stopped = false;
    this.opts.onState({ kind: "connecting" });
    this.connect();
  }

  /** Closes for good (no reconnection). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, "closed by the page");
  }

  /** Closes the socket as a network failure would, and waits holdMs before the first reconnection. */
  drop(holdMs = 0): void {
    this.holdUntil = Date.now() + holdMs;
    this.ws?.close(4000, "dropped by the page");
  }

  /** Reconnects at once if the socket is down (e.g. a token was just given): no need to wait for the backoff. */
  retryNow(): void {
    if (this.ws || !this.timer || this.stopped) return;
    clearTimeout(this.timer);
    this.failures = 0;
    this.connect();
  }

  get currentCursor(): string | null {
    return this.cursor;
  }

  /** Consecutive connections that failed before opening (a refused token, a missing route, no server). */
  get failedAttempts(): number {
    return this.failures;
  }

  private connect(): void {
    this.timer = null;
    const { path, params } = this.opts.url();
    const url = new URL(path, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    for (const [k, v] of Object.entries(params ?? {})) url.searchParams.set(k, v);
    if (this.cursor) url.searchParams.set("since", this.cursor);
    this.connections.push(url.toString());
    // A browser cannot set headers on a WebSocket: the token travels as a subprotocol, which the server
    // names back; never in the URL, which servers and proxies log.
    const tok = currentToken();
    const ws = tok ? new WebSocket(url, [`acu.bearer.${tok}`]) : new WebSocket(url);
    this.ws = ws;
    this.opened = false;
    ws.onopen = () => {
      this.opened = true;
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.scheduleReconnect();
    };
  }

  private receive(data: unknown): void {
    let frame: F;
    try {
      frame = JSON.parse(String(data)) as F;
    } catch {
      return; // not a frame of ours
    }
    if (typeof frame.cursor === "string") this.cursor = frame.cursor;
    if (frame.type === "gap") this.opts.onState({ kind: "gap" });
    this.opts.onFrame(frame);
    if (this.opts.isLive(frame)) {
      this.failures = 0;
      this.opts.onState({ kind: "live" });
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    // A cursor the server refuses (it restarted with other partitions) would fail forever: start afresh.
    if (!this.opened && ++this.failures >= 3) this.cursor = null;
    const backoff = Math.min(10_000, 1000 * 2 ** Math.min(4, this.failures)) * (0.75 + Math.random() * 0.5);
    const retryAt = Math.max(Date.now() + (this.opened ? 1000 : backoff), this.holdUntil);
    this.opts.onState({ kind: "down", retryAt, failures: this.failures });
    this.timer = setTimeout(() => this.connect(), retryAt - Date.now());
  }
}
