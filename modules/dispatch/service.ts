import { DispatchConflictError, DispatchInputError, DispatchNotFoundError } from "../../src/domain/dispatch-errors.ts";
import { INCIDENT_STATES, TERMINAL_STATES, type IncidentState } from "../../src/domain/incident-event.ts";
import { NOTE_MAX, type Incident, type IncidentCommand } from "../../src/domain/incident.ts";
import {
  movePatrol,
  patrolIdSchema,
  patrolOffDuty,
  patrolRegistrationSchema,
  positionSchema,
  problemOf,
  registerPatrol,
  type Patrol,
} from "../../src/domain/patrol.ts";
import type { DispatchStore } from "../../src/ports/dispatch-store.ts";
import type { Log } from "../lifecycle.ts";
import { DispatchView, type FeedFrame, type Subscription } from "./view.ts";
import { DispatchWriter, type Clock } from "./writer.ts";

export interface DispatchServiceOptions {
  /** Changes kept for feed subscribers that resume with a cursor. Default 10,000. */
  historySize?: number;
  clock?: Clock;
}

export const INCIDENT_LIST_MAX = 1000;

/**
 * What operators, patrols and the HTTP API can do with dispatch. Every change is a CAS on the store
 * (see DispatchWriter); reads of one incident or patrol come from the store, lists of active ones from
 * this process's view (which includes its own writes). Refusals are typed errors from
 * src/domain/dispatch-errors.ts: DispatchNotFoundError (404), DispatchForbiddenError (403),
 * DispatchConflictError (409, with the current state), DispatchInputError (400),
 * DispatchUnavailableError (503).
 *
 * `patrolId` on a patrol's transition is the patrol that asks: it must hold the incident. `null` means an
 * operator acting for whichever patrol holds it.
 */
export class DispatchService {
  private constructor(
    readonly store: DispatchStore,
    readonly view: DispatchView,
    readonly writer: DispatchWriter,
  ) {}

  static async open(store: DispatchStore, log: Log, o: DispatchServiceOptions = {}): Promise<DispatchService> {
    const view = await DispatchView.open(store, log, o.historySize);
    return new DispatchService(store, view, new DispatchWriter(store, view, o.clock ?? { now: Date.now }));
  }

  // ---- patrols ---------------------------------------------------------------------------------------

  /** Creates or updates a patrol: name and position; an off-duty patrol comes back available. */
  async registerPatrol(patrolId: string, name: string, latitude: number, longitude: number): Promise<Patrol> {
    checkPatrolId(patrolId);
    const input = { name, latitude, longitude };
    const problem = problemOf(patrolRegistrationSchema, input);
    if (problem) throw new DispatchInputError(problem);
    const reg = patrolRegistrationSchema.parse(input);
    return this.writer.patrolChange(patrolId, (p) => registerPatrol(p, patrolId, reg, this.writer.now()));
  }

  /** Off duty; refused (conflict) while the patrol holds an incident. Idempotent. */
  async offDuty(patrolId: string): Promise<Patrol> {
    checkPatrolId(patrolId);
    return this.writer.patrolChange(patrolId, (p) => {
      if (!p) throw new DispatchNotFoundError("patrol", patrolId);
      const r = patrolOffDuty(p, this.writer.now());
      if (!r.ok) throw new DispatchConflictError(r.reason, p.status, { kind: "patrol", id: patrolId });
      return r.patrol;
    });
  }

  async position(patrolId: string, latitude: number, longitude: number): Promise<Patrol> {
    checkPatrolId(patrolId);
    const problem = problemOf(positionSchema, { latitude, longitude });
    if (problem) throw new DispatchInputError(problem);
    return this.writer.patrolChange(patrolId, (p) => {
      if (!p) throw new DispatchNotFoundError("patrol", patrolId);
      return movePatrol(p, { latitude, longitude }, this.writer.now());
    });
  }

  async getPatrol(patrolId: string): Promise<Patrol> {
    checkPatrolId(patrolId);
    const p = await this.writer.run(`read patrol ${patrolId}`, async () => ({ result: await this.store.getPatrol(patrolId) }));
    if (!p) throw new DispatchNotFoundError("patrol", patrolId);
    return p.value;
  }

  /** Every patrol, by id. */
  listPatrols(): Patrol[] {
    return this.view
      .allPatrols()
      .map((p) => p.value)
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  // ---- a patrol's steps ------------------------------------------------------------------------------

  async acknowledge(incidentId: string, patrolId: string | null, actor?: string): Promise<Incident> {
    return this.patrolStep(incidentId, patrolId, actor, (p) => ({ type: "acknowledge", patrolId: p }));
  }

  async enRoute(incidentId: string, patrolId: string | null, actor?: string): Promise<Incident> {
    return this.patrolStep(incidentId, patrolId, actor, (p) => ({ type: "en-route", patrolId: p }));
  }

  async arrive(incidentId: string, patrolId: string | null, actor?: string): Promise<Incident> {
    return this.patrolStep(incidentId, patrolId, actor, (p) => ({ type: "arrive", patrolId: p }));
  }

  async resolve(incidentId: string, patrolId: string | null, note = "", actor?: string): Promise<Incident> {
    checkNote(note);
    return this.patrolStep(incidentId, patrolId, actor, (p) => ({ type: "resolve", patrolId: p, note }));
  }

  // ---- operators -------------------------------------------------------------------------------------

  /**
   * Takes the incident back from its patrol (which is kept off it for a while) and, with `patrolId`, gives
   * it to that patrol at once, in the same CAS; without, the assigner gives it to the next nearest.
   * An open incident can only be given to a named patrol.
   */
  async reassign(incidentId: string, patrolId: string | null = null, o: { note?: string; actor?: string } = {}): Promise<Incident> {
    checkIncidentId(incidentId);
    if (patrolId !== null) checkPatrolId(patrolId);
    const note = o.note ?? "";
    checkNote(note);
    return this.writer.transition(
      incidentId,
      (inc) => {
        if (patrolId !== null && inc.patrolId === patrolId)
          throw new DispatchConflictError(`incident ${incidentId} is already held by patrol ${patrolId}`, inc.state, { kind: "incident", id: incidentId });
        const take: IncidentCommand[] = inc.state === "open" && patrolId !== null ? [] : [{ type: "reassign", note }];
        return patrolId === null ? take : [...take, { type: "assign", patrolId }];
      },
      o.actor ?? "operator",
    );
  }

  async cancel(incidentId: string, note: string, actor = "operator"): Promise<Incident> {
    checkIncidentId(incidentId);
    checkNote(note);
    return this.writer.transition(incidentId, () => [{ type: "cancel", note }], actor);
  }

  // ---- reads and the feed ----------------------------------------------------------------------------

  async getIncident(incidentId: string): Promise<Incident> {
    checkIncidentId(incidentId);
    const i = await this.writer.run(`read incident ${incidentId}`, async () => ({ result: await this.store.getIncident(incidentId) }));
    if (!i) throw new DispatchNotFoundError("incident", incidentId);
    return i.value;
  }

  /** Incidents in these states (default: all), the most recently changed first. */
  async listIncidents(o: { states?: readonly IncidentState[]; limit?: number } = {}): Promise<Incident[]> {
    const limit = o.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > INCIDENT_LIST_MAX)
      throw new DispatchInputError(`limit must be a whole number from 1 to ${INCIDENT_LIST_MAX}`);
    const states = o.states ?? INCIDENT_STATES;
    for (const s of states) if (!INCIDENT_STATES.includes(s)) throw new DispatchInputError(`state must be one of ${INCIDENT_STATES.join(", ")}`);
    const active = this.view.activeIncidents().filter((i) => states.includes(i.value.state));
    const closedStates = TERMINAL_STATES.filter((s) => states.includes(s));
    const closed =
      closedStates.length === 0
        ? []
        : await this.writer.run("list closed incidents", async () => ({ result: await this.store.listClosed(limit, closedStates) }));
    // Newest change first: by the time of the change, then by the store's revision (changes within one millisecond).
    return [...active, ...closed]
      .sort((a, b) => b.value.updatedAt - a.value.updatedAt || b.revision - a.revision)
      .slice(0, limit)
      .map((i) => i.value);
  }

  /**
   * Every incident and patrol change, from `cursor` (a frame's cursor) or, when null or too old, from a
   * snapshot frame. Frames come in store order; `send` is called synchronously for those already due.
   */
  subscribe(cursor: string | null, send: (f: FeedFrame) => void): Subscription {
    if (cursor !== null && !/^\d{1,15}$/.test(cursor)) throw new DispatchInputError("cursor must be a frame's cursor (a whole number)");
    return this.view.subscribe(cursor === null ? null : Number(cursor), send);
  }

  close(): Promise<void> {
    return this.view.close();
  }

  private async patrolStep(
    incidentId: string,
    patrolId: string | null,
    actor: string | undefined,
    command: (patrolId: string) => IncidentCommand,
  ): Promise<Incident> {
    checkIncidentId(incidentId);
    if (patrolId !== null) checkPatrolId(patrolId);
    return this.writer.transition(
      incidentId,
      // For an operator (null), the holder; with none, the command is refused by the state (it is open or closed).
      (inc) => [command(patrolId ?? inc.patrolId ?? "none")],
      actor ?? (patrolId ? `patrol:${patrolId}` : "operator"),
    );
  }
}

function checkPatrolId(id: string): void {
  const problem = problemOf(patrolIdSchema, id);
  if (problem) throw new DispatchInputError(problem);
}

function checkIncidentId(id: string): void {
  if (typeof id !== "string" || id.length === 0 || id.length > 160) throw new DispatchInputError("incidentId must be 1 to 160 characters");
}

function checkNote(note: string): void {
  if (typeof note !== "string" || note.length > NOTE_MAX) throw new DispatchInputError(`note must be a string of at most ${NOTE_MAX} characters`);
}
