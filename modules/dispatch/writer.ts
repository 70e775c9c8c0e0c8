import { backoffDelay, sleep, type Backoff } from "../../src/retry.ts";
import {
  DispatchConflictError,
  DispatchError,
  DispatchForbiddenError,
  DispatchInputError,
  DispatchNotFoundError,
  DispatchUnavailableError,
} from "../../src/domain/dispatch-errors.ts";
import type { IncidentEvent } from "../../src/domain/incident-event.ts";
import { applyCommand, isTerminal, type Incident, type IncidentCommand, type Refusal } from "../../src/domain/incident.ts";
import type { Patrol } from "../../src/domain/patrol.ts";
import type { DispatchCommit, DispatchStore, StudentIndex, Versioned } from "../../src/ports/dispatch-store.ts";
import type { DispatchView } from "./view.ts";

/** What a read-and-decide step concluded: a commit to make (then `result`), or nothing to write. */
export type Decision<T> = { commit: DispatchCommit; result: T } | { commit?: undefined; result: T };

/** Where a transition reads the patrols it touches: the store (operations) or the view (the assigner's fast path). */
export type PatrolSource = (id: string) => Promise<Versioned<Patrol> | null>;

export interface Clock {
  now(): number;
}

/**
 * The one way dispatch writes: read, decide with the pure domain functions, commit as a CAS; when the CAS is
 * refused (someone else changed a value meanwhile) read again and decide again. A refusal of the domain
 * (an illegal transition, a busy patrol) is a typed error and ends it; so does contention beyond the
 * retries, or the store being unreachable (DispatchUnavailableError: the caller may try again).
 */
/** A store that cannot be read or written: retried up to 5 s apart. */
export const DISPATCH_BACKOFF: Backoff = { baseMs: 100, capMs: 5000 };
/** A lost compare-and-set race: a few milliseconds, jittered, growing to 50 ms. */
const CAS_BACKOFF: Backoff = { baseMs: 4, capMs: 50 };

export class DispatchWriter {
  private readonly eventListeners = new Set<() => void>();

  constructor(
    readonly store: DispatchStore,
    private readonly view: DispatchView,
    private readonly clock: Clock,
    private readonly attempts = 30,
  ) {}

  now(): number {
    return this.clock.now();
  }

  /**
   * Calls `f` after each commit of this process that wrote events, until the returned function is called:
   * the outbox relay's cue to publish them (another process's events are its own relay's, or a takeover's
   * once old, which the relay's timer finds).
   */
  onEvents(f: () => void): () => void {
    this.eventListeners.add(f);
    return () => this.eventListeners.delete(f);
  }

  async run<T>(what: string, decide: () => Promise<Decision<T>>): Promise<T> {
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      const d = await this.guard(what, decide);
      if (!d.commit) return d.result;
      if (await this.commit(what, d.commit)) return d.result;
      // Someone else moved first: back off a little (jittered) so racing writers do not collide again in step.
      await sleep(backoffDelay(CAS_BACKOFF, attempt + 1));
    }
    throw new DispatchUnavailableError(`cannot ${what}: the store refused ${this.attempts} attempts in a row (contention); try again`);
  }

  /** One CAS attempt; true when committed (the view learns the values at once). */
  async commit(what: string, c: DispatchCommit): Promise<boolean> {
    const r = await this.guard(what, () => this.store.commit(c));
    if (!r.ok) return false;
    this.view.learn(
      r.revision,
      c.incident ? [c.incident.value] : [],
      (c.patrols ?? []).map((p) => p.value),
    );
    if ((c.events?.length ?? 0) > 0) for (const f of [...this.eventListeners]) f();
    return true;
  }

  /**
   * Applies the commands in order to an incident as stored now (the commands may depend on it), retrying on
   * contention. The first try decides on the view's copies (watched, usually current): its CAS proves them
   * current or is refused, so nothing is ever written from a stale copy, and a patrol's step costs one
   * etcd request instead of three (two linearizable reads and the transaction). A refusal — the CAS's, or
   * the domain's on those copies (a stale state may look like an illegal step) — decides again on the
   * store's values: only those may refuse the caller.
   */
  transition(incidentId: string, commands: (i: Incident) => IncidentCommand[], actor: string): Promise<Incident> {
    let fromView = true;
    return this.run(`change incident ${incidentId}`, async () => {
      const seen = fromView ? this.view.incident(incidentId) : undefined;
      fromView = false;
      if (seen) {
        try {
          const plan = await this.plan(seen, commands(seen.value), actor, async (id) => this.view.patrol(id) ?? (await this.store.getPatrol(id)));
          return { commit: plan.commit, result: plan.incident };
        } catch (e) {
          if (!(e instanceof DispatchError)) throw e;
        }
      }
      const inc = await this.store.getIncident(incidentId);
      if (!inc) throw new DispatchNotFoundError("incident", incidentId);
      const plan = await this.plan(inc, commands(inc.value), actor, (id) => this.store.getPatrol(id));
      return { commit: plan.commit, result: plan.incident };
    });
  }

  /**
   * The commit of a sequence of commands on one incident: the incident (CAS on the revision read), every
   * patrol they change (CAS on theirs), the events, and the student's index when the incident closes.
   */
  async plan(
    inc: Versioned<Incident>,
    commands: IncidentCommand[],
    actor: string,
    patrols: PatrolSource,
  ): Promise<{ commit: DispatchCommit; incident: Incident; events: IncidentEvent[] }> {
    const read = new Map<string, { value: Patrol; expect: number; changed: boolean }>();
    const get = async (id: string) => {
      let p = read.get(id);
      if (!p) {
        const v = await patrols(id);
        if (!v) throw new DispatchNotFoundError("patrol", id);
        p = { value: v.value, expect: v.revision, changed: false };
        read.set(id, p);
      }
      return p;
    };
    let cur = inc.value;
    const events: IncidentEvent[] = [];
    for (const c of commands) {
      const holder = c.type === "assign" ? await get(c.patrolId) : c.type !== "attach" && cur.patrolId ? await get(cur.patrolId) : null;
      const r = applyCommand(cur, holder?.value ?? null, c, { at: this.clock.now(), actor });
      if (!r.ok) throw refusalError(cur, r, c);
      cur = r.incident;
      events.push(r.event);
      for (const q of r.patrols) Object.assign(read.get(q.id)!, { value: q, changed: true });
    }
    const commit: DispatchCommit = {
      incident: { value: cur, expect: inc.revision },
      patrols: [...read.values()].filter((p) => p.changed).map((p) => ({ value: p.value, expect: p.expect })),
      events,
    };
    if (isTerminal(cur.state)) commit.student = await this.closing(cur);
    return { commit, incident: cur, events };
  }

  /** A patrol-only change (registration, position, off duty); `change` returns the same object for "nothing to do". */
  patrolChange(id: string, change: (p: Patrol | null) => Patrol): Promise<Patrol> {
    return this.run(`change patrol ${id}`, async () => {
      const cur = await this.store.getPatrol(id);
      const next = change(cur?.value ?? null);
      if (cur && next === cur.value) return { result: next };
      return { commit: { patrols: [{ value: next, expect: cur?.revision ?? 0 }] }, result: next };
    });
  }

  /** The student's index once this incident is closed: no open incident (if it was this one), this one the last, its recent orders kept. */
  private async closing(inc: Incident): Promise<{ studentId: string; value: StudentIndex; expect: number }> {
    const idx = await this.store.getStudent(inc.studentId);
    const open = idx?.value.openIncidentId ?? null;
    return {
      studentId: inc.studentId,
      value: { ...idx?.value, openIncidentId: open === inc.id ? null : open, lastIncidentId: inc.id },
      expect: idx?.revision ?? 0,
    };
  }

  /** Store trouble becomes DispatchUnavailableError; dispatch's own errors pass as they are. */
  private async guard<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof DispatchError) throw e;
      throw new DispatchUnavailableError(`cannot ${what}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** The typed error of a domain refusal. */
export function refusalError(inc: Incident, r: Refusal, c: IncidentCommand): DispatchError {
  switch (r.code) {
    case "forbidden":
      return new DispatchForbiddenError(r.reason, inc.id, inc.patrolId);
    case "invalid":
      return new DispatchInputError(r.reason);
    case "unavailable":
      return new DispatchConflictError(r.reason, r.patrolStatus ?? "assigned", { kind: "patrol", id: (c as { patrolId: string }).patrolId });
    default:
      return new DispatchConflictError(r.reason, r.state, { kind: "incident", id: inc.id });
  }
}
