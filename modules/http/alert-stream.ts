import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { metrics } from "../../src/metrics.ts";
import type { Log } from "../lifecycle.ts";
import type { AlertFeed, FeedItem } from "./alert-feed.ts";

export interface StreamClient {
  /** Id of the token the socket was opened with (counted against ACU_WS_PER_TOKEN). */
  tokenId: string;
  exerciseId: string | null;
  since: string | null;
  unsubscribe?: () => void;
  /** Closed for being too slow; its close callback has not run yet. */
  dropped?: boolean;
}

/** A client that does not read is dropped rather than buffered without bound. */
const MAX_BUFFERED = 4 * 1024 * 1024;

export type UpgradeOutcome = { ok: true } | { ok: false; status: 426 | 429; error: string; headers?: Record<string, string> };

/**
 * The live alert stream's sockets: how many each token holds, the replay from a cursor, and the drop of
 * a client too slow to read. The route (routes/alerts.ts) checks the request and asks for the upgrade;
 * Bun.serve hands the sockets' events to `websocket`.
 */
export class AlertStream {
  private readonly clients = new Set<ServerWebSocket<StreamClient>>();
  /** Sockets per token id, counted from the upgrade (not from open) so a burst of upgrades cannot overshoot. */
  private readonly perToken = new Map<string, number>();

  constructor(
    readonly feed: AlertFeed,
    private readonly wsPerToken: number,
    private readonly log: Log,
  ) {}

  /** Upgrades the request to a socket for `client`, within the token's share; the subprotocol offered is named back. */
  upgrade(server: Server<StreamClient>, req: Request, client: StreamClient, protocol: string | null): UpgradeOutcome {
    const open = this.perToken.get(client.tokenId) ?? 0;
    if (open >= this.wsPerToken)
      return { ok: false, status: 429, error: `this token already holds ${open} alert streams, the most allowed (ACU_WS_PER_TOKEN); close one first`, headers: { "Retry-After": "5" } };
    this.perToken.set(client.tokenId, open + 1);
    // RFC 6455: a server that accepts a subprotocol the client offered names it in the answer; browsers
    // drop the connection otherwise.
    const headers = protocol ? { "Sec-WebSocket-Protocol": protocol } : undefined;
    if (server.upgrade(req, { data: client, headers })) return { ok: true };
    this.release(client.tokenId);
    return { ok: false, status: 426, error: "this endpoint speaks WebSocket: send an Upgrade request" };
  }

  /** Bun's socket events. */
  readonly websocket: WebSocketHandler<StreamClient> = {
    open: (ws) => this.open(ws),
    message() {},
    close: (ws) => {
      this.release(ws.data.tokenId);
      ws.data.unsubscribe?.();
      this.clients.delete(ws);
      metrics.wsClients.set(this.clients.size);
    },
  };

  /** Closes every socket (shutdown). */
  closeAll(): void {
    for (const ws of this.clients) ws.close(1001, "server shutting down");
  }

  private open(ws: ServerWebSocket<StreamClient>): void {
    this.clients.add(ws);
    metrics.wsClients.set(this.clients.size);
    // Subscribe before replaying so nothing arriving in between is missed; duplicates are cut by offset.
    const pending: FeedItem[] = [];
    let replaying = true;
    ws.data.unsubscribe = this.feed.subscribe((item) => (replaying ? pending.push(item) : this.send(ws, item)));
    const { items, gap } = this.feed.since(ws.data.since);
    if (gap) ws.send(JSON.stringify({ type: "gap", message: "some alerts since this cursor are no longer kept; see GET /api/alerts" }));
    const last = new Map<number, number>();
    for (const it of items) {
      this.send(ws, it);
      last.set(it.partition, it.offset);
    }
    for (const it of pending) if (it.offset > (last.get(it.partition) ?? -1)) this.send(ws, it);
    replaying = false;
    ws.send(JSON.stringify({ type: "hello", cursor: this.feed.cursor() }));
  }

  private send(ws: ServerWebSocket<StreamClient>, item: FeedItem): void {
    if (ws.data.dropped || (ws.data.exerciseId && item.order.exerciseId !== ws.data.exerciseId)) return;
    const buffered = ws.getBufferedAmount();
    if (buffered > MAX_BUFFERED) {
      ws.data.dropped = true;
      this.log.warn(`http: alert stream client of token ${ws.data.tokenId} too slow (${buffered} bytes unsent); closed with 1013`, { tokenId: ws.data.tokenId, bufferedBytes: buffered });
      ws.close(1013, "client too slow; reconnect with ?since=<cursor>");
      return;
    }
    ws.send(JSON.stringify({ type: "alert", alert: item.order, cursor: item.cursor }));
  }

  private release(id: string): void {
    const n = (this.perToken.get(id) ?? 1) - 1;
    if (n <= 0) this.perToken.delete(id);
    else this.perToken.set(id, n);
  }
}
