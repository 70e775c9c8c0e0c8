import { DispatchError } from "../../src/domain/dispatch-errors.ts";
import { dueTimeouts, nearestPatrol, nextWake, planAssignments, type PlanOptions } from "../../src/domain/dispatch-plan.ts";
import type { Incident, IncidentCommand } from "../../src/domain/incident.ts";
import type { Patrol } from "../../src/domain/patrol.ts";
import type { Versioned } from "../../src/ports/dispatch-store.ts";
import type { Log } from "../lifecycle.ts";
import type { DispatchView } from "./view.ts";
import type { DispatchWriter } from "./writer.ts";
import { ViewRounds } from "./rounds.ts";

export interface AssignerOptions extends PlanOptions {
  /** A round at least this often, whatever the feed says (a safety net; rounds follow changes and deadlines). */
  tickMs: number;
}

export interface RoundResult {
  timedOut: number;
  assigned: number;
  /** CAS refusals: another process (or a patrol's own step) changed a value first. */
  conflicts: number;
}

/**
 * Gives open incidents their patrols and takes back assignments not acknowledged in time. A round plans
 * from the view (src/domain/dispatch-plan.ts) and makes each decision one CAS at the revisions it planned
 * from; a refused one re-reads those values and waits for the next round. Rounds run after every change
 * the view sees, at the next deadline (derived from stored times, so any instance enforces any other's),
 * and every `tickMs`. Any number of instances may run: they may waste a race, never double-assign.
 */
export class Assigner {
  private readonly runs: ViewRounds;
  private wake: ReturnType<typeof setTimeout> | null = null;
  /** Patrols claimed by incidents being opened (claimAtOpen), until their commit is over. */
  private readonly promised = new Set<string>();
  readonly totals: RoundResult = { timedOut: 0, assigned: 0, conflicts: 0 };

  constructor(
    private readonly writer: DispatchWriter,
    private readonly view: DispatchView,
    private readonly o: AssignerOptions,
    private readonly log: Log,
  ) {
    this.runs = new ViewRounds(
      view,
      o.tickMs,
      () => this.guardedRound(),
      () => this.schedule(),
    );
  }

  start(): void {
    this.runs.start();
  }

  /** Runs a round now, or right after the one under way. */
  kick(): void {
    this.runs.kick();
  }

  async stop(): Promise<void> {
    if (this.wake) clearTimeout(this.wake);
    await this.runs.stop();
    if (this.wake) clearTimeout(this.wake);
  }

  /**
   * The patrol a new incident gets in the commit that opens it, or null (a round assigns it): only while no
   * incident waits for a patrol — the queue's priority (lowest score, then oldest) stays the rounds' — the
   * nearest available patrol as this view has it, not promised to another opening. The opening's CAS on the
   * patrol proves it still free; refused, nothing is written and the incident is opened unassigned.
   */
  claimAtOpen(incident: Incident): { patrol: Versioned<Patrol>; release(assigned: boolean): void } | null {
    if (this.runs.isStopped || this.view.someIncident((i) => i.state === "open")) return null;
    const free = this.view
      .allPatrols()
      .map((p) => p.value)
      .filter((p) => !this.promised.has(p.id));
    const best = nearestPatrol(incident, free, this.writer.now(), this.o.passOverMs);
    const patrol = best && this.view.patrol(best.patrol.id);
    if (!patrol) return null;
    const id = patrol.value.id;
    this.promised.add(id);
    let released = false;
    return {
      patrol,
      release: (assigned) => {
        if (released) return;
        released = true;
        this.promised.delete(id);
        if (assigned) this.totals.assigned++;
      },
    };
  }

  async round(): Promise<RoundResult> {
    const r: RoundResult = { timedOut: 0, assigned: 0, conflicts: 0 };
    const now = this.writer.now();
    for (const inc of dueTimeouts(
      this.view.activeIncidents().map((i) => i.value),
      now,
      this.o.ackTimeoutMs,
    )) {
      const held = this.view.incident(inc.id);
      // Gone from the view meanwhile (closed by a step, seen from the feed): nothing to take back.
      if (!held) continue;
      if (await this.step(held, [{ type: "time-out" }], "timeout")) r.timedOut++;
      else r.conflicts++;
    }
    const plan = planAssignments(
      this.view.activeIncidents().map((i) => i.value),
      this.view.allPatrols().map((p) => p.value),
      this.writer.now(),
      this.o.passOverMs,
    );
    // Disjoint incidents and patrols: the CAS of one cannot refuse another's.
    const done = await Promise.all(plan.map((a) => this.step(this.view.incident(a.incidentId)!, [{ type: "assign", patrolId: a.patrolId }], "dispatch")));
    for (const ok of done) ok ? r.assigned++ : r.conflicts++;
    this.totals.timedOut += r.timedOut;
    this.totals.assigned += r.assigned;
    this.totals.conflicts += r.conflicts;
    return r;
  }

  /** One round; true to plan again at once. */
  private async guardedRound(): Promise<boolean> {
    try {
      const r = await this.round();
      // A refused CAS was refreshed from the store: plan again with it, after a breath (the winner's change is arriving).
      if (r.conflicts === 0) return false;
      await Bun.sleep(2);
      return true;
    } catch (e) {
      this.log.warn(`dispatch assigner: round failed: ${(e as Error).message}`);
      await Bun.sleep(200);
      return true;
    }
  }

  /** Wakes at the next deadline the plan holds (an acknowledgement due, a pass-over ending). */
  private schedule(): void {
    if (this.runs.isStopped) return;
    if (this.wake) clearTimeout(this.wake);
    const now = this.writer.now();
    const at = nextWake(
      this.view.activeIncidents().map((i) => i.value),
      now,
      this.o,
    );
    this.wake = at === null ? null : setTimeout(() => this.kick(), Math.max(1, at - now + 1));
  }

  /** One decision as a CAS at the view's revisions; false when refused (the values are then re-read). */
  private async step(inc: Versioned<Incident>, commands: IncidentCommand[], actor: string): Promise<boolean> {
    const patrolIds = [inc.value.patrolId, ...commands.map((c) => ("patrolId" in c ? c.patrolId : null))].filter((x): x is string => x !== null);
    try {
      const plan = await this.writer.plan(inc, commands, actor, async (id) => this.view.patrol(id) ?? null);
      if (await this.writer.commit(`${commands[0]!.type} incident ${inc.value.id}`, plan.commit)) return true;
    } catch (e) {
      if (!(e instanceof DispatchError)) throw e;
      this.log.debug(`dispatch assigner: ${e.message}`);
    }
    await this.refresh(inc.value.id, patrolIds);
    return false;
  }

  private async refresh(incidentId: string, patrolIds: string[]): Promise<void> {
    try {
      const store = this.writer.store;
      const [inc, ...patrols] = await Promise.all([store.getIncident(incidentId), ...patrolIds.map((id) => store.getPatrol(id))]);
      if (inc) this.view.learn(inc.revision, [inc.value], []);
      for (const p of patrols) if (p) this.view.learn(p.revision, [], [p.value]);
    } catch (e) {
      this.log.warn(`dispatch assigner: cannot re-read incident ${incidentId}: ${(e as Error).message}`);
    }
  }
}
