import type { Server } from "bun";
import { isTerminal, type Incident } from "../../src/domain/incident.ts";
import type { Patrol } from "../../src/domain/patrol.ts";
import type { DispatchService, FeedFrame, Subscription } from "../dispatch/index.ts";
import { incidentJson, patrolJson } from "./dispatch-schemas.ts";
import type { FrameSink, SocketData, StreamSession, StreamSockets, UpgradeOutcome } from "./stream-sockets.ts";

export interface DispatchStreamClient {
  tokenId: string;
  /** A frame's cursor to resume from, or null. */
  since: string | null;
}

/**
 * The dispatch streams, on DispatchService.subscribe: every incident and patrol change for viewers
 * (`WS /api/incidents/stream`), and one patrol's assignment and its changes (`WS /api/patrols/{id}/stream`).
 * Sockets (per-token share, slow clients) are StreamSockets', as for the alert stream.
 *
 * Cursors: a frame's cursor is the store revision the client has everything up to. One commit may give
 * several frames (an incident and its patrols; a snapshot, many): all but the last carry the cursor the
 * client held before, so a client that drops between them replays the commit rather than missing part of
 * it. `0` means "nothing yet": it resumes with the current state, not with a gap.
 */
export class DispatchStreams {
  constructor(
    readonly dispatch: DispatchService,
    private readonly sockets: StreamSockets,
  ) {}

  upgradeIncidents(server: Server<SocketData>, req: Request, client: DispatchStreamClient, protocol: string | null): UpgradeOutcome {
    return this.sockets.upgrade(
      server,
      req,
      { tokenId: client.tokenId, stream: "incident", session: new IncidentSession(this.dispatch, client.since) },
      protocol,
    );
  }

  /** `patrol`: the patrol as the route read it from the store, for a view that has not seen it yet. */
  upgradePatrol(server: Server<SocketData>, req: Request, client: DispatchStreamClient & { patrol: Patrol }, protocol: string | null): UpgradeOutcome {
    return this.sockets.upgrade(
      server,
      req,
      { tokenId: client.tokenId, stream: "patrol", session: new PatrolSession(this.dispatch, client.patrol, client.since) },
      protocol,
    );
  }
}

const GAP = {
  type: "gap",
  message: "some changes since this cursor are no longer kept; what follows is the current state (GET /api/incidents for closed ones)",
} as const;

/** A session's subscription and the cursor its client holds; sends a commit's frames with the cursors above. */
abstract class FeedSession implements StreamSession {
  protected cursor: string;
  private sub: Subscription | null = null;
  private out: FrameSink | null = null;

  constructor(
    protected readonly dispatch: DispatchService,
    protected readonly since: string | null,
  ) {
    this.cursor = since ?? "0";
  }

  open(out: FrameSink): void {
    this.out = out;
    this.start();
    let first = true;
    // "0": the client has nothing yet, so the current state (a snapshot) is what it needs, not a gap.
    const from = this.since === "0" ? null : this.since;
    this.sub = this.dispatch.subscribe(from, (f) => {
      if (f.type === "snapshot") this.snapshot(f, first && from === null, first);
      else this.change(f);
    });
    first = false;
    this.send({ type: "hello", cursor: this.cursor });
  }

  close(): void {
    this.sub?.close();
    this.sub = null;
  }

  /** What the session sends before the feed (the patrol's assignment). */
  protected start(): void {}
  /** A snapshot: `asked` when the client asked for one (no cursor), `initial` when it comes at the subscription. */
  protected abstract snapshot(f: FeedFrame, asked: boolean, initial: boolean): void;
  protected abstract change(f: FeedFrame): void;

  /** One commit's frames: all but the last at the cursor held before, the last at the commit's. */
  protected sendCommit(frames: object[], cursor: string, before = this.cursor): void {
    for (const [i, frame] of frames.entries()) this.send({ ...frame, cursor: i === frames.length - 1 ? cursor : before });
    if (frames.length > 0) this.cursor = cursor;
  }

  protected send(frame: object): void {
    if (this.out && !this.out.send(frame)) this.close();
  }
}

/** WS /api/incidents/stream: every incident and patrol change; the current state first, or the replay from `since`. */
class IncidentSession extends FeedSession {
  protected snapshot(f: FeedFrame, asked: boolean): void {
    if (!asked) this.send(GAP);
    // A client that drops inside a snapshot asks for one again ("0").
    this.sendCommit(framesOf(f.incidents, f.patrols), f.cursor, "0");
    this.cursor = f.cursor;
  }

  protected change(f: FeedFrame): void {
    this.sendCommit(framesOf(f.incidents, f.patrols), f.cursor);
  }
}

function framesOf(incidents: Incident[], patrols: Patrol[]): object[] {
  return [...incidents.map((i) => ({ type: "incident", incident: incidentJson(i) })), ...patrols.map((p) => ({ type: "patrol", patrol: patrolJson(p) }))];
}

/**
 * WS /api/patrols/{id}/stream: the current assignment first (at every connection), then the changes of the
 * incidents the patrol holds or held, and of the patrol itself. An incident is followed while the patrol
 * holds it, when a commit also changes the patrol (assigned, released, timed out, taken back), and after it
 * was taken from the patrol until it shows another patrol or closes.
 */
export class PatrolSession extends FeedSession {
  private readonly followed = new Set<string>();

  constructor(
    dispatch: DispatchService,
    private readonly known: Patrol,
    since: string | null,
  ) {
    super(dispatch, since);
  }

  protected override start(): void {
    const view = this.dispatch.view;
    const patrol = view.patrol(this.known.id)?.value ?? this.known;
    const incident = patrol.incidentId ? (view.incident(patrol.incidentId)?.value ?? null) : null;
    if (this.since === null || this.since === "0") this.cursor = String(view.cursor);
    this.sendAssignment(patrol, incident);
  }

  protected snapshot(f: FeedFrame, asked: boolean, initial: boolean): void {
    // At the subscription, the assignment just sent is this same state; later (the feed started over), send it again.
    if (!asked) this.send({ ...GAP, cursor: f.cursor });
    this.cursor = f.cursor;
    if (initial) return;
    const patrol = f.patrols.find((p) => p.id === this.known.id) ?? this.known;
    this.sendAssignment(patrol, f.incidents.find((i) => i.id === patrol.incidentId) ?? null);
  }

  protected change(f: FeedFrame): void {
    const id = this.known.id;
    const mine = f.patrols.find((p) => p.id === id);
    const frames: object[] = f.incidents.filter((i) => this.follows(i, mine !== undefined)).map((i) => ({ type: "incident", incident: incidentJson(i) }));
    if (mine) frames.push({ type: "patrol", patrol: patrolJson(mine) });
    this.sendCommit(frames, f.cursor);
  }

  private sendAssignment(patrol: Patrol, incident: Incident | null): void {
    if (incident) this.followed.add(incident.id);
    this.send({ type: "assignment", incident: incident && incidentJson(incident), patrol: patrolJson(patrol), cursor: this.cursor });
  }

  /** Whether the patrol's stream shows this change of an incident; keeps the set of incidents followed. */
  private follows(i: Incident, patrolChanged: boolean): boolean {
    const id = this.known.id;
    if (i.patrolId !== id && !patrolChanged && !this.followed.has(i.id)) return false;
    if (isTerminal(i.state) || (i.patrolId !== null && i.patrolId !== id)) this.followed.delete(i.id);
    else this.followed.add(i.id);
    return true;
  }
}
