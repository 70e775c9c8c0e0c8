/**
 * The live feed of deployment orders: the latest ones from GET /api/alerts, then WS /api/alerts/stream from
 * that cursor. When the socket drops it reconnects by itself with ?since=<last cursor>, so orders raised
 * meanwhile are replayed and none is lost (docs/api.md).
 */
import { api, type DeploymentOrder, type StreamFrame } from "./api.ts";
import { ResumableStream, type StreamState } from "./stream.ts";

export type FeedState = StreamState;

export interface FeedEvents {
  /** Orders in the order they were raised; `live` false for the history loaded at start. */
  onAlerts(orders: DeploymentOrder[], live: boolean): void;
  onState(state: FeedState): void;
}

const HISTORY = 100;

export class LiveFeed {
  private readonly stream: ResumableStream<StreamFrame>;
  private readonly seen = new Set<string>();

  constructor(private readonly events: FeedEvents) {
    this.stream = new ResumableStream<StreamFrame>({
      url: () => ({ path: "/api/alerts/stream" }),
      onFrame: (frame) => {
        if (frame.type === "alert") this.deliver([frame.alert], true);
      },
      isLive: (frame) => frame.type === "hello",
      onState: (s) => events.onState(s),
    });
  }

  async start(): Promise<void> {
    this.events.onState({ kind: "connecting" });
    let cursor: string | null = null;
    try {
      const recent = await api.recentAlerts(HISTORY);
      cursor = recent.cursor;
      this.deliver([...recent.alerts].reverse(), false);
    } catch {
      // No history (e.g. an http process without the feed): the stream starts from now.
    }
    this.stream.start(cursor);
  }

  /** Closes the socket as a network failure would, and waits holdMs before the first reconnection. */
  drop(holdMs = 0): void {
    this.stream.drop(holdMs);
  }

  /** Reconnects at once if the socket is down (e.g. a token was just given). */
  retryNow(): void {
    this.stream.retryNow();
  }

  get currentCursor(): string | null {
    return this.stream.currentCursor;
  }

  /** WebSocket URLs opened, newest last (shown to tests through window.acu). */
  get connections(): string[] {
    return this.stream.connections;
  }

  private deliver(orders: DeploymentOrder[], live: boolean): void {
    const fresh = orders.filter((o) => !this.seen.has(o.alertId));
    for (const o of fresh) this.seen.add(o.alertId);
    if (this.seen.size > 50_000) this.seen.clear();
    if (fresh.length) this.events.onAlerts(fresh, live);
  }
}
