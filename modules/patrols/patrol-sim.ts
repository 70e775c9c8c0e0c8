import { distanceKm } from "../../src/domain/regions.ts";
import type { Log } from "../lifecycle.ts";
import { DispatchRefusedError, type DispatchClient, type IncidentJson, type PatrolFrame, type PatrolStream } from "./client.ts";
import type { PatrolPlacement } from "./fleet.ts";
import { driveToward, type Point } from "./travel.ts";

/** How the simulated crews behave. Times in ms. */
export interface PatrolBehaviour {
  speedKmh: number;
  /** The human delay before acknowledging an assignment, × a uniform 0.5..1.5. */
  ackAfterMs: number;
  /** Time on site before resolving, × a uniform 0.5..1.5. */
  resolveAfterMs: number;
  /** Share of assignments left unanswered (so the acknowledgement time-out shows). */
  ignoreRate: number;
  /** A position is posted this often while driving. */
  positionEveryMs: number;
  /** First wait before reopening a dropped stream; doubles up to 5 s, back to this after a frame. */
  reconnectMs: number;
}

export interface PatrolStats {
  /** Assignments received (an incident given to this patrol, once per assignment). */
  assignments: number;
  /** Of those, left unanswered on purpose. */
  ignored: number;
  acknowledged: number;
  enRoute: number;
  arrived: number;
  resolved: number;
  /** Positions posted. */
  positions: number;
  /** Incidents taken away before this patrol resolved them (time-out, reassignment, cancellation). */
  takenAway: number;
  /** Steps the API refused (the incident had moved on meanwhile: 403/404/409). */
  refused: number;
  /** Requests that failed for want of an answer (network, 5xx); retried. */
  unreachable: number;
  /** Streams reopened after a drop. */
  reconnects: number;
  frames: number;
  /** Frames older than what the patrol already knew of that incident (skipped). */
  stale: number;
  /** Steps the API applied to an incident held by another patrol (an operator token acts for the holder). */
  actedForOther: number;
}

export function emptyPatrolStats(): PatrolStats {
  return {
    assignments: 0,
    ignored: 0,
    acknowledged: 0,
    enRoute: 0,
    arrived: 0,
    resolved: 0,
    positions: 0,
    takenAway: 0,
    refused: 0,
    unreachable: 0,
    reconnects: 0,
    frames: 0,
    stale: 0,
    actedForOther: 0,
  };
}

const ACTIVE_HELD = new Set(["assigned", "acknowledged", "en-route", "on-site"]);
const RECONNECT_MAX_MS = 5000;
const RETRY_MS = 1000;
const SEEN_KEPT = 64;
const NOTES = ["back on track", "explained the exercise", "calmed down, resumed the exam", "helped with the compiler", "nothing serious"];

type Stage = "acknowledge" | "en-route" | "drive" | "resolve";

/** The assignment in hand: what this crew decided about it and the one step it has scheduled. */
interface Plan {
  /** incidentId@assignedAt: a second assignment of the same incident is a new plan. */
  key: string;
  incidentId: string;
  ignore: boolean;
  stage: Stage | null;
  timer: ReturnType<typeof setTimeout> | null;
  /** When the patrol last moved (driving). */
  movedAt: number | null;
  /** A step was refused at this revision: wait for news rather than ask again. */
  refusedAt: number | null;
  /** A request failed for want of an answer: no step before this moment (epoch ms). */
  backoffUntil: number;
}

/**
 * One simulated patrol: a small state machine driven by its stream and its own timers. The server's word
 * (the frames, and each step's answer) says which incident it holds and in which state; the crew decides
 * only how long it takes — a human delay before acknowledging (or ignoring it), the drive at its speed
 * along the great circle with a position every second or so, a pause on site before resolving. One
 * request at a time; a dropped stream is reopened from the last cursor.
 */
export class PatrolSim {
  readonly stats = emptyPatrolStats();
  readonly id: string;
  private position: Point;
  /** The latest version of the incident this patrol holds (or just lost). */
  private held: IncidentJson | null = null;
  private readonly seen = new Map<string, number>();
  private plan: Plan | null = null;
  private inFlight: Promise<void> | null = null;
  private cursor: string | null = null;
  private stream: PatrolStream | null = null;
  private reconnectDelay: number;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(
    readonly placement: PatrolPlacement,
    private readonly client: DispatchClient,
    private readonly behaviour: PatrolBehaviour,
    private readonly rand: () => number,
    private readonly log: Log,
  ) {
    this.id = placement.patrolId;
    this.position = { latitude: placement.latitude, longitude: placement.longitude };
    this.reconnectDelay = behaviour.reconnectMs;
  }

  get where(): Point {
    return { ...this.position };
  }

  /** The incident it holds now, as far as it knows. */
  get holding(): IncidentJson | null {
    return this.mine(this.held) ? this.held : null;
  }

  /** Registers the patrol (available, at its start position) and opens its stream. */
  async start(): Promise<void> {
    await this.client.register(this.id, this.placement.name, this.position.latitude, this.position.longitude);
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.clearTimer();
    this.stream?.close();
    this.stream = null;
    await this.inFlight;
  }

  /** Drops the stream as a lost connection would (the patrol reopens it from its cursor). */
  dropStream(): void {
    if (!this.stream) return;
    this.stream.close();
    this.lost("dropped on purpose");
  }

  // ---- the stream ----------------------------------------------------------------------------------

  private connect(): void {
    if (this.stopped) return;
    try {
      this.stream = this.client.openStream(this.id, this.cursor, { onFrame: (f) => this.onFrame(f), onClose: (why) => this.lost(why) });
    } catch (e) {
      this.lost((e as Error).message);
    }
  }

  private lost(why: string): void {
    this.stream = null;
    if (this.stopped) return;
    this.stats.reconnects++;
    this.log.debug(`${this.id}: stream lost (${why}); reopening in ${this.reconnectDelay} ms`, { cursor: this.cursor });
    this.reconnectTimer = setTimeout(() => this.connect(), this.reconnectDelay);
    this.reconnectDelay = Math.min(RECONNECT_MAX_MS, this.reconnectDelay * 2);
  }

  onFrame(f: PatrolFrame): void {
    if (this.stopped) return;
    this.stats.frames++;
    this.cursor = f.cursor;
    this.reconnectDelay = this.behaviour.reconnectMs;
    if (f.type === "assignment") {
      // The server's word on what the patrol holds right now.
      if (f.incident) this.learn(f.incident, true);
      else if (this.mine(this.held)) this.held = null;
    } else if (f.type === "incident") this.learn(f.incident, false);
    this.reconcile();
  }

  /** Keeps the newest version of an incident; an older frame (a replay after a reconnect) changes nothing. */
  private learn(inc: IncidentJson, current: boolean): void {
    const known = this.seen.get(inc.incidentId) ?? 0;
    if (inc.revision < known || (!current && inc.revision === known && this.held?.incidentId === inc.incidentId)) {
      if (inc.revision < known) this.stats.stale++;
      return;
    }
    this.seen.delete(inc.incidentId);
    this.seen.set(inc.incidentId, inc.revision);
    if (this.seen.size > SEEN_KEPT) this.seen.delete(this.seen.keys().next().value!);
    if (inc.patrolId === this.id || this.held?.incidentId === inc.incidentId) this.held = inc;
  }

  private mine(inc: IncidentJson | null): inc is IncidentJson {
    return inc !== null && inc.patrolId === this.id && ACTIVE_HELD.has(inc.state);
  }

  // ---- deciding the next step ----------------------------------------------------------------------

  /** From what the patrol holds now, the one step to schedule (if not already). */
  private reconcile(): void {
    // A step under way: its answer decides (it reconciles when it ends).
    if (this.stopped || this.inFlight) return;
    const inc = this.mine(this.held) ? this.held : null;
    if (!inc) {
      this.dropPlan();
      return;
    }
    const key = `${inc.incidentId}@${inc.times.assignedAt}`;
    if (this.plan?.key !== key) this.newPlan(inc, key);
    const plan = this.plan!;
    if (plan.refusedAt === inc.revision) return;
    if (inc.state === "assigned") {
      if (!plan.ignore) this.schedule("acknowledge", this.jittered(this.behaviour.ackAfterMs));
    } else if (inc.state === "acknowledged") this.schedule("en-route", 0);
    else if (inc.state === "en-route") {
      plan.movedAt ??= Date.now();
      this.schedule("drive", this.behaviour.positionEveryMs);
    } else if (inc.state === "on-site") this.schedule("resolve", this.jittered(this.behaviour.resolveAfterMs));
  }

  private newPlan(inc: IncidentJson, key: string): void {
    this.dropPlan();
    const ignore = this.rand() < this.behaviour.ignoreRate;
    this.plan = { key, incidentId: inc.incidentId, ignore, stage: null, timer: null, movedAt: null, refusedAt: null, backoffUntil: 0 };
    this.stats.assignments++;
    if (ignore) this.stats.ignored++;
    const km = distanceKm(this.position.latitude, this.position.longitude, inc.latitude, inc.longitude);
    this.log.info(
      `${this.id}: assigned ${inc.incidentId} (student ${inc.studentId}, ${inc.place || inc.region}, ${km.toFixed(1)} km)${ignore ? "; ignoring it" : ""}`,
      { patrolId: this.id, incidentId: inc.incidentId, state: inc.state },
    );
  }

  /** The plan ends: resolved by this patrol (stats counted there), or taken away. */
  private dropPlan(): void {
    if (!this.plan) return;
    this.clearTimer();
    this.stats.takenAway++;
    this.log.info(`${this.id}: ${this.plan.incidentId} is no longer mine${this.plan.ignore ? " (ignored)" : ""}`, {
      patrolId: this.id,
      incidentId: this.plan.incidentId,
    });
    this.plan = null;
  }

  private schedule(stage: Stage, delayMs: number): void {
    const plan = this.plan!;
    if (plan.stage === stage && plan.timer) return;
    this.clearTimer();
    plan.stage = stage;
    plan.timer = setTimeout(
      () => {
        plan.timer = null;
        plan.stage = null;
        this.inFlight = this.step(stage, plan).finally(() => {
          this.inFlight = null;
          this.reconcile();
        });
      },
      Math.max(0, delayMs, plan.backoffUntil - Date.now()),
    );
  }

  private clearTimer(): void {
    if (this.plan?.timer) clearTimeout(this.plan.timer);
    if (this.plan) Object.assign(this.plan, { timer: null, stage: null });
  }

  // ---- doing it ------------------------------------------------------------------------------------

  private async step(stage: Stage, plan: Plan): Promise<void> {
    const inc = this.held!;
    try {
      if (stage === "drive") return await this.drive(plan, inc);
      const answer = await this.request(stage, inc);
      if (answer.patrolId !== this.id && answer.patrolId !== null) {
        this.stats.actedForOther++;
        this.log.warn(`${this.id}: ${stage} of ${inc.incidentId} was applied for patrol ${answer.patrolId} (an operator token acts for the holder)`, {
          patrolId: this.id,
        });
      }
      this.count(stage);
      if (stage === "resolve") {
        // Resolved by this patrol: the plan ends here, not as one taken away.
        this.plan = null;
        this.log.info(`${this.id}: resolved ${inc.incidentId}`, { patrolId: this.id, incidentId: inc.incidentId });
      }
      this.learn(answer, false);
    } catch (e) {
      this.failed(stage, plan, inc, e as Error);
    }
  }

  private request(stage: "acknowledge" | "en-route" | "resolve", inc: IncidentJson): Promise<IncidentJson> {
    if (stage === "acknowledge") return this.client.acknowledge(inc.incidentId, this.id);
    if (stage === "en-route") return this.client.enRoute(inc.incidentId, this.id);
    return this.client.resolve(inc.incidentId, this.id, NOTES[Math.floor(this.rand() * NOTES.length)]!);
  }

  /** One leg of the drive since the last; a position posted; the arrival once there. */
  private async drive(plan: Plan, inc: IncidentJson): Promise<void> {
    const now = Date.now();
    const km = (this.behaviour.speedKmh * (now - (plan.movedAt ?? now))) / 3_600_000;
    plan.movedAt = now;
    const leg = driveToward(this.position, { latitude: inc.latitude, longitude: inc.longitude }, km);
    this.position = leg.position;
    await this.client.position(this.id, leg.position.latitude, leg.position.longitude);
    this.stats.positions++;
    if (!leg.arrived) return;
    const answer = await this.client.arrive(inc.incidentId, this.id);
    this.count("arrive");
    this.learn(answer, false);
  }

  private count(step: "acknowledge" | "en-route" | "arrive" | "resolve"): void {
    if (step === "acknowledge") this.stats.acknowledged++;
    else if (step === "en-route") this.stats.enRoute++;
    else if (step === "arrive") this.stats.arrived++;
    else this.stats.resolved++;
  }

  /** Refused: the incident moved on (the stream will say how); unreachable: the step again after a while. */
  private failed(stage: Stage, plan: Plan, inc: IncidentJson, e: Error): void {
    if (e instanceof DispatchRefusedError) {
      this.stats.refused++;
      plan.refusedAt = inc.revision;
      this.log.info(`${this.id}: ${stage} of ${inc.incidentId} refused (${e.status}${e.state ? `, ${e.state}` : ""}): ${e.message}`, { patrolId: this.id });
      return;
    }
    this.stats.unreachable++;
    plan.backoffUntil = Date.now() + RETRY_MS;
    this.log.warn(`${this.id}: ${stage} of ${inc.incidentId} failed: ${e.message}; trying again in ${RETRY_MS} ms`, { patrolId: this.id });
  }

  /** About `ms`: × a uniform 0.5..1.5, so crews do not move in step. */
  private jittered(ms: number): number {
    return ms * (0.5 + this.rand());
  }
}
