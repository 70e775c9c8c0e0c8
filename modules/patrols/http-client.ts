import type { Log } from "../lifecycle.ts";
import { retryAfterMs } from "../signal/index.ts";
import {
  DispatchRefusedError,
  DispatchUnreachableError,
  patrolFrameSchema,
  type DispatchClient,
  type IncidentJson,
  type PatrolFrame,
  type PatrolJson,
  type PatrolStream,
  type StreamHandlers,
} from "./client.ts";

export interface HttpDispatchClientOptions {
  /** The acu serving the API, e.g. http://127.0.0.1:8080. */
  target: string;
  /** An operator token: registers patrols, and acts for every patrol without a token of its own. */
  token: string;
  /** Patrol-scoped tokens by patrol id (`acu token create --scope patrol --patrol ID`), used for that patrol's steps and stream. */
  patrolTokens?: Readonly<Record<string, string>>;
  /** Tries of a request that got no answer (network error, 429, 5xx) before giving up. Default 5. */
  tries?: number;
  requestTimeoutMs?: number;
  log?: Log;
}

/**
 * The dispatch API over HTTP and WebSocket, as a patrol's phone uses it: JSON requests with the token as
 * Bearer, the patrol's stream with it as the `acu.bearer.<token>` subprotocol (what browsers can send).
 * A request that gets no answer is tried again (with Retry-After when given); a refusal is final.
 */
export class HttpDispatchClient implements DispatchClient {
  private readonly base: string;

  constructor(private readonly o: HttpDispatchClientOptions) {
    const url = new URL(o.target);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`target must be an http(s) URL, not ${o.target}`);
    this.base = url.toString().replace(/\/+$/, "");
  }

  register(patrolId: string, name: string, latitude: number, longitude: number): Promise<PatrolJson> {
    return this.call("PUT", `/api/patrols/${enc(patrolId)}`, this.o.token, { name, latitude, longitude });
  }

  position(patrolId: string, latitude: number, longitude: number): Promise<PatrolJson> {
    return this.call("POST", `/api/patrols/${enc(patrolId)}/position`, this.tokenOf(patrolId), { latitude, longitude });
  }

  acknowledge(incidentId: string, patrolId: string): Promise<IncidentJson> {
    return this.call("POST", `/api/incidents/${enc(incidentId)}/acknowledge`, this.tokenOf(patrolId));
  }

  enRoute(incidentId: string, patrolId: string): Promise<IncidentJson> {
    return this.call("POST", `/api/incidents/${enc(incidentId)}/en-route`, this.tokenOf(patrolId));
  }

  arrive(incidentId: string, patrolId: string): Promise<IncidentJson> {
    return this.call("POST", `/api/incidents/${enc(incidentId)}/arrive`, this.tokenOf(patrolId));
  }

  resolve(incidentId: string, patrolId: string, note: string): Promise<IncidentJson> {
    return this.call("POST", `/api/incidents/${enc(incidentId)}/resolve`, this.tokenOf(patrolId), { note });
  }

  openStream(patrolId: string, since: string | null, handlers: StreamHandlers): PatrolStream {
    const url = `${this.base.replace(/^http/, "ws")}/api/patrols/${enc(patrolId)}/stream${since === null ? "" : `?since=${encodeURIComponent(since)}`}`;
    const ws = new WebSocket(url, [`acu.bearer.${this.tokenOf(patrolId)}`]);
    let closed = false;
    ws.onmessage = (ev) => {
      const frame = parsePatrolFrame(String(ev.data));
      if (frame) handlers.onFrame(frame);
      else this.o.log?.warn(`patrol stream ${patrolId}: a frame that is not one of the contract's was skipped: ${String(ev.data).slice(0, 200)}`);
    };
    ws.onclose = (ev) => {
      if (closed) return;
      closed = true;
      handlers.onClose(`closed with code ${ev.code}${ev.reason ? ` (${ev.reason})` : ""}`);
    };
    return {
      close() {
        closed = true;
        ws.close();
      },
    };
  }

  private tokenOf(patrolId: string): string {
    return this.o.patrolTokens?.[patrolId] ?? this.o.token;
  }

  private async call<T>(method: string, path: string, token: string, body?: unknown): Promise<T> {
    const tries = this.o.tries ?? 5;
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    let why = "";
    for (let attempt = 1; attempt <= tries; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${this.base}${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.o.requestTimeoutMs ?? 10_000),
        });
      } catch (e) {
        why = (e as Error).message;
        await Bun.sleep(Math.min(2000, 100 * 2 ** attempt));
        continue;
      }
      const text = await res.text();
      if (res.ok) return JSON.parse(text) as T;
      const answer = errorBody(text);
      if (res.status === 429 || res.status >= 500) {
        why = `HTTP ${res.status}: ${answer.error}`;
        await Bun.sleep(Math.min(5000, retryAfterMs(res.headers.get("retry-after"))));
        continue;
      }
      throw new DispatchRefusedError(res.status, `${method} ${path}: HTTP ${res.status}: ${answer.error}`, answer.state);
    }
    throw new DispatchUnreachableError(`${method} ${path}: no answer after ${tries} tries (${why})`);
  }
}

const enc = encodeURIComponent;

function errorBody(text: string): { error: string; state?: string } {
  try {
    const j = JSON.parse(text) as { error?: unknown; state?: unknown };
    return { error: typeof j.error === "string" ? j.error : text.slice(0, 200), state: typeof j.state === "string" ? j.state : undefined };
  } catch {
    return { error: text.slice(0, 200) };
  }
}

/** A frame of the patrol stream (checked against the contract's schema), or null when the text is not one. */
export function parsePatrolFrame(text: string): PatrolFrame | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const r = patrolFrameSchema.safeParse(raw);
  return r.success ? r.data : null;
}
