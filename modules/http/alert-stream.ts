import type { Server } from "bun";
import type { AlertFeed, FeedItem } from "./alert-feed.ts";
import type { FrameSink, SocketData, StreamSession, StreamSockets, UpgradeOutcome } from "./stream-sockets.ts";

export interface StreamClient {
  /** Id of the token the socket was opened with (counted against ACU_WS_PER_TOKEN). */
  tokenId: string;
  exerciseId: string | null;
  since: string | null;
}

/**
 * The live alert stream: the replay from a cursor, then every order as it comes. The route
 * (routes/alerts.ts) checks the request and asks for the upgrade; the sockets themselves (per-token share,
 * slow clients) are StreamSockets'.
 */
export class AlertStream {
  constructor(
    readonly feed: AlertFeed,
    private readonly sockets: StreamSockets,
  ) {}

  upgrade(server: Server<SocketData>, req: Request, client: StreamClient, protocol: string | null): UpgradeOutcome {
    return this.sockets.upgrade(server, req, { tokenId: client.tokenId, stream: "alert", session: new AlertSession(this.feed, client) }, protocol);
  }
}

/** One client of the alert stream. */
class AlertSession implements StreamSession {
  private unsubscribe: () => void = () => {};

  constructor(
    private readonly feed: AlertFeed,
    private readonly client: StreamClient,
  ) {}

  open(out: FrameSink): void {
    // Subscribe before replaying so nothing arriving in between is missed; duplicates are cut by offset.
    const pending: FeedItem[] = [];
    let replaying = true;
    this.unsubscribe = this.feed.subscribe((item) => (replaying ? pending.push(item) : this.send(out, item)));
    const { items, gap } = this.feed.since(this.client.since);
    if (gap) out.send({ type: "gap", message: "some alerts since this cursor are no longer kept; see GET /api/alerts" });
    const last = new Map<number, number>();
    for (const it of items) {
      this.send(out, it);
      last.set(it.partition, it.offset);
    }
    for (const it of pending) if (it.offset > (last.get(it.partition) ?? -1)) this.send(out, it);
    replaying = false;
    out.send({ type: "hello", cursor: this.feed.cursor() });
  }

  close(): void {
    this.unsubscribe();
  }

  private send(out: FrameSink, item: FeedItem): void {
    if (this.client.exerciseId && item.order.exerciseId !== this.client.exerciseId) return;
    if (!out.send({ type: "alert", alert: item.order, cursor: item.cursor })) this.unsubscribe();
  }
}
