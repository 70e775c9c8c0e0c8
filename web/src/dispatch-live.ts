/**
 * The dashboard's view of dispatch: every patrol and the recent incidents, from GET /api/patrols and
 * /api/incidents, kept current by WS /api/incidents/stream (resumed from its cursor after a drop). The
 * lists are read once the stream is live, and versions merge by revision, so nothing in between is lost
 * whatever arrives first. A 404 means this process runs no dispatch role: the panels say so.
 */
import { ApiError } from "./api.ts";
import { dispatchApi, isTerminal, newer, type Incident, type IncidentFrame, type Patrol } from "./dispatch-api.ts";
import { ResumableStream, type StreamState } from "./stream.ts";

const LIST_LIMIT = 500;
/** Closed incidents kept for the board (the newest). */
const KEEP_CLOSED = 50;
const RELOAD_MS = 30_000;

export type DispatchAvailability = "loading" | "on" | "off";

export class DispatchLive {
  readonly incidents = new Map<string, Incident>();
  readonly patrols = new Map<string, Patrol>();
  availability: DispatchAvailability = "loading";
  conn: StreamState = { kind: "connecting" };
  error: string | null = null;
  loadedAt = 0;
  readonly stream: ResumableStream<IncidentFrame>;
  private frame = 0;
  private wasLive = false;

  constructor(private readonly onChange: () => void) {
    this.stream = new ResumableStream<IncidentFrame>({
      url: () => ({ path: "/api/incidents/stream" }),
      onFrame: (f) => this.receive(f),
      isLive: (f) => f.type === "hello",
      onState: (s) => this.state(s),
    });
  }

  /** Asks the lists first (a 404 says dispatch is not here), then streams; reloads now and then to heal. */
  async start(): Promise<void> {
    await this.load();
    if (this.availability === "on") this.stream.start();
    setInterval(() => {
      const wasOff = this.availability === "off";
      void this.load().then(() => {
        if (wasOff && this.availability === "on") this.stream.start();
      });
    }, RELOAD_MS);
  }

  /** The answer to an operator's action: shown at once, before its frame arrives. */
  merge(inc: Incident): void {
    if (newer(this.incidents.get(inc.incidentId), inc)) this.incidents.set(inc.incidentId, inc);
    this.changed();
  }

  private async load(): Promise<void> {
    try {
      const [inc, pat] = await Promise.all([dispatchApi.incidents(LIST_LIMIT), dispatchApi.patrols()]);
      for (const i of inc.incidents) if (newer(this.incidents.get(i.incidentId), i)) this.incidents.set(i.incidentId, i);
      for (const p of pat.patrols) this.patrols.set(p.patrolId, p);
      this.availability = "on";
      this.error = null;
      this.loadedAt = Date.now();
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        this.availability = "off";
        this.stream.stop();
      } else this.error = e instanceof Error ? e.message : String(e);
    }
    this.changed();
  }

  private receive(f: IncidentFrame): void {
    if (f.type === "incident") {
      if (newer(this.incidents.get(f.incident.incidentId), f.incident)) this.incidents.set(f.incident.incidentId, f.incident);
    } else if (f.type === "patrol") this.patrols.set(f.patrol.patrolId, f.patrol);
    else return;
    this.changed();
  }

  private state(s: StreamState): void {
    this.conn = s;
    // Some changes are no longer kept for the cursor: read the lists again.
    if (s.kind === "gap") void this.load();
    // Live after a drop: the replay is in; a fresh read heals anything older than the stream's memory.
    if (s.kind === "live" && !this.wasLive) {
      this.wasLive = true;
      void this.load();
    }
    if (s.kind === "down") this.wasLive = false;
    this.changed();
  }

  /** Drops the oldest closed incidents beyond KEEP_CLOSED: the board shows the open ones and a few closed. */
  private prune(): void {
    const closed = [...this.incidents.values()].filter((i) => isTerminal(i.state)).sort((a, b) => closedAt(b) - closedAt(a));
    for (const i of closed.slice(KEEP_CLOSED)) this.incidents.delete(i.incidentId);
  }

  /** Redraws once per frame however many changes arrive. */
  private changed(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.prune();
      this.onChange();
    });
  }
}

export const closedAt = (i: Incident) => i.times.resolvedAt ?? i.times.cancelledAt ?? i.times.openedAt;
