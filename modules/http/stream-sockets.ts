import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import type { Log } from "../lifecycle.ts";

/** Where a stream's session sends its frames. */
export interface FrameSink {
  /** Sends one frame as JSON; false once the client was dropped for being too slow (stop sending then). */
  send(frame: object): boolean;
}

/** What one socket of a stream does: started once the socket is open, ended when it closes (either side). */
export interface StreamSession {
  open(out: FrameSink): void;
  close(): void;
}

/** A socket's data in Bun: whose token opened it, which stream, and its session. */
export interface SocketData {
  tokenId: string;
  /** The stream's name, in messages and metrics: `alert`, `incident`, `patrol`. */
  stream: string;
  session: StreamSession;
  /** Closed for being too slow; its close callback has not run yet. */
  dropped?: boolean;
}

/** A client that does not read is dropped rather than buffered without bound. */
export const MAX_BUFFERED = 4 * 1024 * 1024;

export type UpgradeOutcome = { ok: true } | { ok: false; status: 426 | 429; error: string; headers?: Record<string, string> };

/**
 * The WebSocket streams' sockets, whatever the stream (alerts, incidents, a patrol's): how many each token
 * holds (at most `wsPerToken` over all streams of this process), the upgrade naming back the subprotocol
 * offered, and the drop of a client too slow to read (close 1013 once 4 MiB wait for it), so one reader
 * that stalls never holds back the others nor grows the process. Routes check the request and ask for the
 * upgrade with a session; Bun.serve hands every socket's events to `websocket`.
 */
export class StreamSockets {
  private readonly clients = new Set<ServerWebSocket<SocketData>>();
  /** Sockets per token id, counted from the upgrade (not from open) so a burst of upgrades cannot overshoot. */
  private readonly perToken = new Map<string, number>();
  private readonly perStream = new Map<string, number>();

  constructor(
    private readonly wsPerToken: number,
    private readonly log: Log,
    /** Told the number of open sockets of a stream whenever it changes (metrics). */
    private readonly onCount: (stream: string, open: number) => void = () => {},
  ) {}

  /** Upgrades the request to a socket for `session`, within the token's share; the subprotocol offered is named back. */
  upgrade(server: Server<SocketData>, req: Request, data: Omit<SocketData, "dropped">, protocol: string | null): UpgradeOutcome {
    const open = this.perToken.get(data.tokenId) ?? 0;
    if (open >= this.wsPerToken)
      return {
        ok: false,
        status: 429,
        error: `this token already holds ${open} streams, the most allowed (ACU_WS_PER_TOKEN); close one first`,
        headers: { "Retry-After": "5" },
      };
    this.perToken.set(data.tokenId, open + 1);
    // RFC 6455: a server that accepts a subprotocol the client offered names it in the answer; browsers
    // drop the connection otherwise.
    const headers = protocol ? { "Sec-WebSocket-Protocol": protocol } : undefined;
    if (server.upgrade(req, { data: { ...data }, headers })) return { ok: true };
    this.release(data.tokenId);
    return { ok: false, status: 426, error: "this endpoint speaks WebSocket: send an Upgrade request" };
  }

  /** Bun's socket events. */
  readonly websocket: WebSocketHandler<SocketData> = {
    open: (ws) => {
      this.clients.add(ws);
      this.count(ws.data.stream, 1);
      ws.data.session.open({ send: (frame) => this.send(ws, frame) });
    },
    message() {},
    close: (ws) => {
      this.release(ws.data.tokenId);
      ws.data.session.close();
      if (this.clients.delete(ws)) this.count(ws.data.stream, -1);
    },
  };

  /** Closes every socket (shutdown). */
  closeAll(): void {
    for (const ws of this.clients) ws.close(1001, "server shutting down");
  }

  private send(ws: ServerWebSocket<SocketData>, frame: object): boolean {
    if (ws.data.dropped) return false;
    const buffered = ws.getBufferedAmount();
    if (buffered > MAX_BUFFERED) {
      ws.data.dropped = true;
      const { stream, tokenId } = ws.data;
      this.log.warn(`http: ${stream} stream client of token ${tokenId} too slow (${buffered} bytes unsent); closed with 1013`, {
        stream,
        tokenId,
        bufferedBytes: buffered,
      });
      ws.close(1013, "client too slow; reconnect with ?since=<cursor>");
      return false;
    }
    ws.send(JSON.stringify(frame));
    return true;
  }

  private count(stream: string, delta: number): void {
    const n = (this.perStream.get(stream) ?? 0) + delta;
    this.perStream.set(stream, n);
    this.onCount(stream, n);
  }

  private release(id: string): void {
    const n = (this.perToken.get(id) ?? 1) - 1;
    if (n <= 0) this.perToken.delete(id);
    else this.perToken.set(id, n);
  }
}
