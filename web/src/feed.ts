/**
 * The live feed of deployment orders: the latest ones from GET /api/alerts, then WS /api/alerts/stream from
 * that cursor. When the socket drops it reconnects by itself with ?since=<last cursor>, so orders raised
 * meanwhile are replayed and none is lost (docs/api.md).
 */
import { api, type DeploymentOrder, type StreamFrame } from "./api.ts";
import { currentToken } from "./token.ts";

export type FeedState = { kind: "connecting" } | { kind: "live" } | { kind: "down"; retryAt: number } | { kind: "gap" };

export interface FeedEvents {
  /** Orders in the order they were raised; `live` false for the history loaded at start. */
  onAlerts(orders: DeploymentOrder[], live: boolean): void;
  onState(state: FeedState): void;
}

const HISTORY = 100;

export class LiveFeed {
  private ws: WebSocket | null = null;
  private cursor: string | null = null;
  private failures = 0;
  private opened = false;
  private holdUntil = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly seen = new Set<string>();
  /** WebSocket URLs opened, newest last (shown to tests through window.acu). */
  readonly connections: string[] = [];

  constructor(private readonly events: FeedEvents) {}

  async start(): Promise<void> {
    this.events.onState({ kind: "connecting" });
    try {
      const recent = await api.recentAlerts(HISTORY);
      this.cursor = recent.cursor;
      this.deliver([...recent.alerts].reverse(), false);
    } catch {
      // No history (e.g. an http process without the feed): the stream starts from now.
    }
    this.connect();
  }

  /** Closes the socket as a network failure would, and waits holdMs before the first reconnection. */
  drop(holdMs = 0): void {
    this.holdUntil = Date.now() + holdMs;
    this.ws?.close(4000, "dropped by the page");
  }

  /** Reconnects at once if the socket is down (e.g. a token was just given): no need to wait for the backoff. */
  retryNow(): void {
    if (this.ws || !this.timer) return;
    clearTimeout(this.timer);
    this.failures = 0;
    this.connect();
  }

  get currentCursor(): string | null {
    return this.cursor;
  }

  private connect(): void {
    this.timer = null;
    const url = new URL("/api/alerts/stream", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
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
    ws.onmessage = (ev) => {
      let frame: StreamFrame;
      try {
        frame = JSON.parse(String(ev.data)) as StreamFrame;
      } catch {
        return;
      }
      if (frame.type === "alert") {
        this.cursor = frame.cursor;
        this.deliver([frame.alert], true);
      } else if (frame.type === "hello") {
        // Everything up to this cursor has been sent: the replay is over.
        this.cursor = frame.cursor;
        this.failures = 0;
        this.events.onState({ kind: "live" });
      } else if (frame.type === "gap") {
        this.events.onState({ kind: "gap" });
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      // A cursor the server refuses (it restarted with other partitions) would fail forever: start afresh.
      if (!this.opened && ++this.failures >= 3) this.cursor = null;
      const backoff = Math.min(10_000, 1000 * 2 ** Math.min(4, this.failures)) * (0.75 + Math.random() * 0.5);
      const retryAt = Math.max(Date.now() + (this.opened ? 1000 : backoff), this.holdUntil);
      this.events.onState({ kind: "down", retryAt });
      this.timer = setTimeout(() => this.connect(), retryAt - Date.now());
    };
  }

  private deliver(orders: DeploymentOrder[], live: boolean): void {
    const fresh = orders.filter((o) => !this.seen.has(o.alertId));
    for (const o of fresh) this.seen.add(o.alertId);
    if (this.seen.size > 50_000) this.seen.clear();
    if (fresh.length) this.events.onAlerts(fresh, live);
  }
}
