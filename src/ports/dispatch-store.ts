import type { IncidentEvent, IncidentState } from "../domain/incident-event.ts";
import type { Incident } from "../domain/incident.ts";
import type { Patrol } from "../domain/patrol.ts";

/**
 * Incidents and patrols, in a consistent store (etcd's role), with a revision per value. Every change is a
 * compare-and-set: the commit names the revision each value was read at, and the store writes all of it —
 * incident, patrols, the student's open-incident index, the events for the outbox — or nothing, if any of
 * those revisions moved. That is what keeps one incident with one patrol, and one patrol on one incident,
 * however many dispatch processes race.
 *
 * Revisions are the store's: positive, growing with every commit (one commit gives all its values the same
 * revision), comparable across values, and the cursor of the change feed. 0 means "absent".
 */

export interface Versioned<T> {
  value: T;
  revision: number;
}

/** Per student: the incident open now (at most one), and the last one closed (to spot an order redelivered after it closed). */
export interface StudentIndex {
  openIncidentId: string | null;
  lastIncidentId: string | null;
  /**
   * Alert ids of the student's most recent orders taken into an incident, oldest first, at most
   * `RECENT_ORDERS_PER_STUDENT`: an order resent after the alert role forgot it is known whatever became
   * of its incident. Absent from indexes written before it existed.
   */
  recentAlertIds?: string[];
}

/** Orders remembered per student (about 40 bytes each in the index). */
export const RECENT_ORDERS_PER_STUDENT = 32;

export interface DispatchCommit {
  /** The incident after the change, and the revision it was read at (0: it must not exist yet, under any state). */
  incident?: { value: Incident; expect: number };
  /** Patrols after the change, each with the revision read (0: a new patrol). */
  patrols?: Array<{ value: Patrol; expect: number }>;
  /** The student's index after the change (0: none yet). Opening an incident is a CAS on "no open incident for this student". */
  student?: { studentId: string; value: StudentIndex; expect: number };
  /** Appended to the outbox, in this order, with the commit. */
  events?: IncidentEvent[];
}

/** `revision`: the revision every value written now has. A refusal means some revision had moved; nothing was written. */
export type CommitResult = { ok: true; revision: number } | { ok: false };

/** Active incidents (not resolved nor cancelled) and every patrol, as of one revision. */
export interface DispatchSnapshot {
  revision: number;
  incidents: Array<Versioned<Incident>>;
  patrols: Array<Versioned<Patrol>>;
}

/** What one commit changed that the feed shows (incidents and patrols; the index and the outbox are not shown). */
export interface DispatchChange {
  revision: number;
  incidents: Array<Versioned<Incident>>;
  patrols: Array<Versioned<Patrol>>;
}

/** An event not yet published, with the store client that committed it and when (for the relay's takeover). */
export interface OutboxEntry {
  event: IncidentEvent;
  owner: string;
  committedAt: number;
}

export interface DispatchWatch {
  close(): Promise<void>;
}

export interface DispatchStore {
  readonly engine: string;
  /** This client's id: the owner of the outbox entries it commits. */
  readonly clientId: string;
  getIncident(id: string): Promise<Versioned<Incident> | null>;
  getPatrol(id: string): Promise<Versioned<Patrol> | null>;
  getStudent(studentId: string): Promise<Versioned<StudentIndex> | null>;
  /** Every active incident and every patrol, at one revision (linearizable: includes every acknowledged commit). */
  snapshot(): Promise<DispatchSnapshot>;
  /** Closed incidents (resolved, cancelled; `states` narrows), most recently closed first. */
  listClosed(limit: number, states?: readonly IncidentState[]): Promise<Array<Versioned<Incident>>>;
  commit(change: DispatchCommit): Promise<CommitResult>;
  /** The oldest unpublished events, per incident in seq order. */
  pendingEvents(limit: number): Promise<OutboxEntry[]>;
  /** Published: take them out of the outbox (ids already gone are ignored). */
  ackEvents(eventIds: string[]): Promise<void>;
  /**
   * Every change after revision `after`, in revision order, each commit once, from this client or any
   * other. When the store cannot replay from there (compacted, or the watch was cut), `onReset` is called
   * instead and nothing more comes from this watch: the caller takes a fresh snapshot and watches again.
   */
  watch(after: number, onChange: (c: DispatchChange) => void, onReset: (why: string) => void): Promise<DispatchWatch>;
  /** Rejects when the store does not answer now (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
