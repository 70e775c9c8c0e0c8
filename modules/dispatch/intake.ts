import type { DeploymentOrder } from "../../src/domain/deployment-order.ts";
import { DispatchError } from "../../src/domain/dispatch-errors.ts";
import type { IncidentEvent } from "../../src/domain/incident-event.ts";
import type { Patrol } from "../../src/domain/patrol.ts";
import { applyCommand, holdsAnOrder, incidentIdFor, openIncident, type Incident } from "../../src/domain/incident.ts";
import { RECENT_ORDERS_PER_STUDENT, type DispatchCommit, type DispatchStore, type StudentIndex, type Versioned } from "../../src/ports/dispatch-store.ts";
import type { Decision, DispatchWriter } from "./writer.ts";

/** Orders of one student written in one commit at most (etcd takes 128 operations per transaction). */
const ORDERS_PER_COMMIT = 50;

/**
 * The patrol a new incident may be given in the commit that opens it (Assigner.claimAtOpen), promised to it
 * until `release`, or null to leave it to the assigner's next round.
 */
export type OpeningClaim = (incident: Incident) => { patrol: Versioned<Patrol>; release(assigned: boolean): void } | null;

/** One student's opening: the patrol claimed for it, and whether the decision carries its assignment. */
interface Opening {
  claim: ReturnType<OpeningClaim>;
  assigned: boolean;
}

export interface IntakeCounts {
  opened: number;
  attached: number;
  /** Orders already held by an incident (a redelivery): nothing written. */
  known: number;
}

/**
 * Deployment orders into incidents. Per student: with an open incident, the new orders attach to it (no
 * second patrol); without, the first opens one — a CAS on the student's index ("no open incident") and on
 * the incident's id ("never opened"), so a redelivered order, or two processes reading the same order,
 * open one incident. Orders the incident already holds, or that the student's last closed incident held,
 * are known and skipped: the consumer commits its offsets only after this resolves, so a crash redelivers.
 */
export class OrderIntake {
  constructor(
    private readonly writer: DispatchWriter,
    /** Without it, every incident is opened unassigned and the assigner gives it a patrol. */
    private readonly claimAtOpen: OpeningClaim | null = null,
    private readonly concurrency = 16,
  ) {}

  private get store(): DispatchStore {
    return this.writer.store;
  }

  /** Takes every order in; students are handled concurrently, each student's orders in order. */
  async take(orders: DeploymentOrder[]): Promise<IntakeCounts> {
    const byStudent = new Map<string, DeploymentOrder[]>();
    for (const o of orders) byStudent.set(o.studentId, [...(byStudent.get(o.studentId) ?? []), o]);
    const counts: IntakeCounts = { opened: 0, attached: 0, known: 0 };
    const students = [...byStudent.entries()];
    let next = 0;
    const worker = async () => {
      while (next < students.length) {
        const [student, list] = students[next++]!;
        for (let i = 0; i < list.length; i += ORDERS_PER_COMMIT) add(counts, await this.takeStudent(student, list.slice(i, i + ORDERS_PER_COMMIT)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, students.length) }, worker));
    return counts;
  }

  /** One student's orders in one CAS (retried on contention). */
  takeStudent(studentId: string, all: DeploymentOrder[]): Promise<IntakeCounts> {
    let attempt = 0;
    // A patrol claimed for an opening: on the first try only (a refused commit opens it unassigned after).
    const opening: Opening = { claim: null, assigned: false };
    const release = () => {
      opening.claim?.release(false);
      opening.claim = null;
    };
    return this.writer
      .run(`take the orders of student ${studentId}`, async (): Promise<Decision<IntakeCounts>> => {
        const firstTry = attempt++ === 0;
        if (!firstTry) release();
        const idx = await this.store.getStudent(studentId);
        // Orders the student's recent ones include: a redelivery, or a laptop's resend past the alert role's horizon.
        const recent = new Set(idx?.value.recentAlertIds ?? []);
        const orders = all.filter((o) => !recent.has(o.alertId));
        const skipped = { opened: 0, attached: 0, known: all.length - orders.length };
        if (orders.length === 0) return { result: skipped };
        const open = idx?.value.openIncidentId ? await this.store.getIncident(idx.value.openIncidentId) : null;
        const d =
          open && open.value.state !== "resolved" && open.value.state !== "cancelled"
            ? this.attach(open, idx!, orders)
            : await this.open(studentId, idx, orders, firstTry, firstTry ? opening : null);
        return { ...d, result: { ...d.result, known: d.result.known + skipped.known } };
      })
      .then((counts) => {
        // Committed: the claim's patrol was assigned if the decision that committed carried it.
        opening.claim?.release(opening.assigned);
        opening.claim = null;
        return counts;
      })
      .finally(release);
  }

  private attach(open: Versioned<Incident>, idx: Versioned<StudentIndex>, orders: DeploymentOrder[]): Decision<IntakeCounts> {
    let inc = open.value;
    const events: IncidentEvent[] = [];
    for (const order of orders) {
      const r = applyCommand(inc, null, { type: "attach", order }, { at: this.writer.now(), actor: "dispatch" });
      if (!r.ok) continue; // a duplicate: already attached
      inc = r.incident;
      events.push(r.event);
    }
    const counts = { opened: 0, attached: events.length, known: orders.length - events.length };
    if (events.length === 0) return { result: counts };
    const student = { studentId: inc.studentId, value: remember(idx.value, events), expect: idx.revision };
    return { commit: { incident: { value: inc, expect: open.revision }, student, events }, result: counts };
  }

  /**
   * `firstTry`: the incident is opened at revision 0 without first asking whether it exists — the CAS does
   * (a redelivered order that opened an older incident is refused there), and every try after a refusal
   * asks. It saves one store round trip in the chain of almost every first failing report of a student.
   */
  private async open(
    studentId: string,
    idx: Versioned<StudentIndex> | null,
    orders: DeploymentOrder[],
    firstTry: boolean,
    opening: Opening | null,
  ): Promise<Decision<IntakeCounts>> {
    const last = idx?.value.lastIncidentId ? await this.store.getIncident(idx.value.lastIncidentId) : null;
    const fresh = orders.filter((o, i) => !(last && holdsAnOrder(last.value, o.alertId)) && orders.findIndex((x) => x.alertId === o.alertId) === i);
    // An order that opened an incident before (not the last one) is known too.
    while (!firstTry && fresh.length > 0 && (await this.store.getIncident(incidentIdFor(fresh[0]!.alertId)))) fresh.shift();
    if (fresh.length === 0) return { result: { opened: 0, attached: 0, known: orders.length } };
    const opened = openIncident(fresh[0]!, { at: this.writer.now(), actor: "dispatch" });
    let inc = opened.incident;
    const events = [opened.event];
    for (const order of fresh.slice(1)) {
      const r = applyCommand(inc, null, { type: "attach", order }, { at: this.writer.now(), actor: "dispatch" });
      if (!r.ok) continue;
      inc = r.incident;
      events.push(r.event);
    }
    const taken = events.length;
    const commit: DispatchCommit = {
      incident: { value: inc, expect: 0 },
      student: {
        studentId,
        value: remember({ openIncidentId: inc.id, lastIncidentId: idx?.value.lastIncidentId ?? null, recentAlertIds: idx?.value.recentAlertIds }, events),
        expect: idx?.revision ?? 0,
      },
      events,
    };
    if (opening) await this.assignAtOpen(commit, opening);
    return { commit, result: { opened: 1, attached: taken - 1, known: orders.length - taken } };
  }

  /**
   * The opening commit also assigns the claimed patrol: the incident is written assigned, the patrol CAS'd at
   * the revision claimed (so it is still free when this commits, or nothing is written and the next try
   * opens it unassigned). One store commit and one assigner round fewer between a report and its patrol.
   */
  private async assignAtOpen(commit: DispatchCommit, opening: Opening): Promise<void> {
    const opened = commit.incident!.value;
    const claim = this.claimAtOpen?.(opened) ?? null;
    if (!claim) return;
    opening.claim = claim;
    try {
      const planned = await this.writer.plan({ value: opened, revision: 0 }, [{ type: "assign", patrolId: claim.patrol.value.id }], "dispatch", async (id) =>
        id === claim.patrol.value.id ? claim.patrol : null,
      );
      commit.incident = planned.commit.incident;
      commit.patrols = planned.commit.patrols;
      commit.events = [...commit.events!, ...planned.events];
      opening.assigned = true;
    } catch (e) {
      // The domain refused (the claimed copy no longer free): opened unassigned, the assigner's to do.
      if (!(e instanceof DispatchError)) throw e;
    }
  }
}

/** The index with the orders these events took added to the student's recent ones, the oldest dropped past the bound. */
function remember(idx: StudentIndex, events: IncidentEvent[]): StudentIndex {
  const recent = [...(idx.recentAlertIds ?? []), ...events.map((e) => e.alertId)];
  return { ...idx, recentAlertIds: recent.slice(-RECENT_ORDERS_PER_STUDENT) };
}

function add(into: IntakeCounts, c: IntakeCounts): void {
  into.opened += c.opened;
  into.attached += c.attached;
  into.known += c.known;
}
