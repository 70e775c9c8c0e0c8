import { expect, test } from "bun:test";
import type { DeploymentOrder } from "../domain/deployment-order.ts";
import { applyCommand, openIncident, type Incident, type IncidentCommand } from "../domain/incident.ts";
import { registerPatrol, type Patrol } from "../domain/patrol.ts";
import type { DispatchChange, DispatchStore, Versioned } from "./dispatch-store.ts";

/**
 * Behaviour every DispatchStore adapter must have. `fresh()` gives clients over a new, empty state: `a` and
 * `b` (two clients of it; the same one where only one process may hold the store), `reopen()` closes them and
 * opens a new client over the same state, `close()` ends it all.
 */
export interface StoreClients {
  a: DispatchStore;
  b: DispatchStore;
  reopen(): Promise<DispatchStore>;
  close(): Promise<void>;
}

const T0 = 1_700_000_000_000;

export function order(student: string, n: number, score = 20): DeploymentOrder {
  return {
    alertId: `alert-${student}-${n}`,
    reportId: `${student}-${n}`,
    studentId: student,
    exerciseId: "ex1",
    score,
    threshold: 50,
    latitude: 48 + (n % 10) / 10,
    longitude: 2 + (n % 7) / 10,
    region: "Île-de-France",
    reportedAt: T0,
    raisedAt: T0,
  };
}

export const newPatrol = (id: string): Patrol => registerPatrol(null, id, { name: id, latitude: 48.5, longitude: 2.5 }, T0);

/** Opens the student's incident from its first order, as the dispatch role does. */
export async function openFor(s: DispatchStore, student: string, n = 1): Promise<Versioned<Incident>> {
  const { incident, event } = openIncident(order(student, n), { at: T0, actor: "test" });
  const idx = await s.getStudent(student);
  const r = await s.commit({
    incident: { value: incident, expect: 0 },
    student: { studentId: student, value: { openIncidentId: incident.id, lastIncidentId: idx?.value.lastIncidentId ?? null }, expect: idx?.revision ?? 0 },
    events: [event],
  });
  if (!r.ok) throw new Error(`could not open ${incident.id}`);
  return { value: incident, revision: r.revision };
}

export async function addPatrol(s: DispatchStore, id: string): Promise<Versioned<Patrol>> {
  const p = newPatrol(id);
  const r = await s.commit({ patrols: [{ value: p, expect: 0 }] });
  if (!r.ok) throw new Error(`could not add ${id}`);
  return { value: p, revision: r.revision };
}

/** One transition as a CAS: the incident, the patrols it touched and its event, at the revisions read. */
async function transit(s: DispatchStore, inc: Versioned<Incident>, patrol: Versioned<Patrol> | null, c: IncidentCommand) {
  const r = applyCommand(inc.value, patrol?.value ?? null, c, { at: T0 + 1000, actor: "test" });
  if (!r.ok) throw new Error(r.reason);
  const done = await s.commit({
    incident: { value: r.incident, expect: inc.revision },
    patrols: r.patrols.map((p) => ({ value: p, expect: patrol!.revision })),
    events: [r.event],
  });
  return { done, applied: r };
}

async function until(ok: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

export function dispatchStoreContract(name: string, fresh: () => Promise<StoreClients>, timeoutMs = 30_000) {
  test(
    `${name}: ping resolves while the store is open, and rejects once it is closed`,
    async () => {
      const c = await fresh();
      await c.a.ping();
      await c.b.ping();
      await c.close();
      await expect(c.a.ping()).rejects.toThrow();
    },
    timeoutMs,
  );

  test(
    `${name}: an incident is created once; a second create of the same id is refused, even after it closed`,
    async () => {
      const c = await fresh();
      try {
        const inc = await openFor(c.a, "s1");
        expect(inc.revision).toBeGreaterThan(0);
        expect(await c.b.getIncident(inc.value.id)).toEqual(inc);
        expect((await c.b.getStudent("s1"))?.value).toEqual({ openIncidentId: inc.value.id, lastIncidentId: null });
        const again = openIncident(order("s1", 1), { at: T0, actor: "x" });
        expect(await c.b.commit({ incident: { value: again.incident, expect: 0 }, events: [again.event] })).toEqual({ ok: false });
        const { done } = await transit(c.a, inc, null, { type: "cancel", note: "test" });
        expect(done.ok).toBe(true);
        expect(await c.b.commit({ incident: { value: again.incident, expect: 0 }, events: [again.event] })).toEqual({ ok: false });
        expect(await c.a.getIncident("inc-none")).toBeNull();
        expect(await c.a.getPatrol("none")).toBeNull();
        expect(await c.a.getStudent("none")).toBeNull();
      } finally {
        await c.close();
      }
    },
    timeoutMs,
  );

  test(
    `${name}: a stale revision is refused, and nothing of that commit is written (incident, patrol, index, events)`,
    async () => {
      const c = await fresh();
      try {
        const inc = await openFor(c.a, "s1");
        const p = await addPatrol(c.a, "p1");
        const q = await addPatrol(c.a, "p2");
        // p1 changes under the assigner's feet: the assignment read the older revision.
        const moved = await c.b.commit({ patrols: [{ value: { ...p.value, latitude: 10 }, expect: p.revision }] });
        expect(moved.ok).toBe(true);
        const { done, applied } = await transit(c.a, inc, p, { type: "assign", patrolId: "p1" });
        expect(done).toEqual({ ok: false });
        expect(await c.a.getIncident(inc.value.id)).toEqual(inc);
        expect((await c.a.getPatrol("p1"))?.value.latitude).toBe(10);
        expect((await c.a.pendingEvents(100)).map((e) => e.event.eventId)).not.toContain(applied.event.eventId);
        // A stale incident revision: same.
        const ok = await transit(c.a, inc, q, { type: "assign", patrolId: "p2" });
        expect(ok.done.ok).toBe(true);
        const stale = await transit(
          c.b,
          inc,
          { value: (await c.b.getPatrol("p1"))!.value, revision: (await c.b.getPatrol("p1"))!.revision },
          { type: "assign", patrolId: "p1" },
        );
        expect(stale.done).toEqual({ ok: false });
        expect((await c.b.getPatrol("p1"))!.value.status).toBe("available");
        expect((await c.b.getIncident(inc.value.id))!.value.patrolId).toBe("p2");
        // A stale student index: the open is refused, the incident is not created.
        const idx = (await c.a.getStudent("s1"))!;
        const other = openIncident(order("s1", 2), { at: T0, actor: "x" });
        await c.a.commit({ student: { studentId: "s1", value: { ...idx.value }, expect: idx.revision } });
        const refused = await c.b.commit({
          incident: { value: other.incident, expect: 0 },
          student: { studentId: "s1", value: { openIncidentId: other.incident.id, lastIncidentId: null }, expect: idx.revision },
          events: [other.event],
        });
        expect(refused).toEqual({ ok: false });
        expect(await c.b.getIncident(other.incident.id)).toBeNull();
      } finally {
        await c.close();
      }
    },
    timeoutMs,
  );

  test(
    `${name}: a commit gives every value it writes one new revision, higher than any before`,
    async () => {
      const c = await fresh();
      try {
        const inc = await openFor(c.a, "s1");
        const p = await addPatrol(c.b, "p1");
        expect(p.revision).toBeGreaterThan(inc.revision);
        const { done } = await transit(c.a, inc, p, { type: "assign", patrolId: "p1" });
        if (!done.ok) throw new Error("refused");
        expect((await c.b.getIncident(inc.value.id))!.revision).toBe(done.revision);
        expect((await c.b.getPatrol("p1"))!.revision).toBe(done.revision);
        const snap = await c.b.snapshot();
        expect(snap.revision).toBeGreaterThanOrEqual(done.revision);
        expect(snap.incidents.map((i) => [i.value.id, i.revision])).toEqual([[inc.value.id, done.revision]]);
        expect(snap.patrols.map((x) => [x.value.id, x.value.status, x.revision])).toEqual([["p1", "assigned", done.revision]]);
      } finally {
        await c.close();
      }
    },
    timeoutMs,
  );

  test(
    `${name}: closed incidents leave the snapshot, stay readable, and list newest first by state`,
    async () => {
      const c = await fresh();
      try {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          const inc = await openFor(c.a, `s${i}`);
          ids.push(inc.value.id);
          const p = await addPatrol(c.a, `p${i}`);
          if (i % 2 === 0) {
            expect((await transit(c.a, inc, null, { type: "cancel", note: `c${i}` })).done.ok).toBe(true);
            continue;
          }
          let cur = inc;
          let pat: Versioned<Patrol> | null = p;
          for (const cmd of [
            { type: "assign", patrolId: `p${i}` },
            { type: "acknowledge", patrolId: `p${i}` },
            { type: "en-route", patrolId: `p${i}` },
            { type: "arrive", patrolId: `p${i}` },
            { type: "resolve", patrolId: `p${i}`, note: "ok" },
          ] as IncidentCommand[]) {
            const { done, applied } = await transit(c.a, cur, pat, cmd);
            if (!done.ok) throw new Error("refused");
            cur = { value: applied.incident, revision: done.revision };
            const touched = applied.patrols[0];
            if (touched) pat = { value: touched, revision: done.revision };
          }
        }
        expect((await c.b.snapshot()).incidents).toEqual([]);
        expect((await c.b.getIncident(ids[1]!))!.value.state).toBe("resolved");
        expect((await c.b.listClosed(10)).map((i) => i.value.id)).toEqual([...ids].reverse());
        expect((await c.b.listClosed(10, ["resolved"])).map((i) => i.value.id)).toEqual([ids[3]!, ids[1]!]);
        expect((await c.b.listClosed(2, ["cancelled"])).map((i) => i.value.id)).toEqual([ids[4]!, ids[2]!]);
        expect((await c.b.snapshot()).patrols.every((p) => p.value.status === "available" && p.value.incidentId === null)).toBe(true);
      } finally {
        await c.close();
      }
    },
    timeoutMs,
  );

  test(
    `${name}: the outbox keeps committed events in order until acknowledged, from any client`,
    async () => {
      const c = await fresh();
      try {
        const inc = await openFor(c.a, "s1");
        const p = await addPatrol(c.a, "p1");
        const { done } = await transit(c.a, inc, p, { type: "assign", patrolId: "p1" });
        expect(done.ok).toBe(true);
        const pending = await c.b.pendingEvents(100);
        expect(pending.map((e) => e.event.eventId)).toEqual([`${inc.value.id}:1`, `${inc.value.id}:2`]);
        expect(pending.every((e) => e.owner === c.a.clientId && e.committedAt > 0)).toBe(true);
        expect((await c.b.pendingEvents(1)).length).toBe(1);
        await c.b.ackEvents([`${inc.value.id}:1`, "inc-unknown:9"]);
        expect((await c.a.pendingEvents(100)).map((e) => e.event.eventId)).toEqual([`${inc.value.id}:2`]);
        await c.a.ackEvents([`${inc.value.id}:2`]);
        await c.a.ackEvents([`${inc.value.id}:2`]);
        expect(await c.b.pendingEvents(100)).toEqual([]);
      } finally {
        await c.close();
      }
    },
    timeoutMs,
  );

  test(
    `${name}: everything survives a reopen`,
    async () => {
      const c = await fresh();
      let s: DispatchStore | null = null;
      try {
        const inc = await openFor(c.a, "s1");
        const p = await addPatrol(c.a, "p1");
        const { done } = await transit(c.a, inc, p, { type: "assign", patrolId: "p1" });
        if (!done.ok) throw new Error("refused");
        const closed = await openFor(c.a, "s2");
        await transit(c.a, closed, null, { type: "cancel", note: "x" });
        s = await c.reopen();
        expect((await s.getIncident(inc.value.id))?.revision).toBe(done.revision);
        expect((await s.getPatrol("p1"))?.value.incidentId).toBe(inc.value.id);
        expect((await s.getStudent("s1"))?.value.openIncidentId).toBe(inc.value.id);
        expect((await s.listClosed(5)).map((i) => i.value.id)).toEqual([closed.value.id]);
        expect((await s.pendingEvents(100)).length).toBe(4);
        // A commit on the reopened store gets a revision above every earlier one.
        const q = await addPatrol(s, "p2");
        expect(q.revision).toBeGreaterThan(done.revision);
      } finally {
        await s?.close();
        await c.close();
      }
    },
    timeoutMs,
  );

  test(
    `${name}: a watch gets each change after its revision, in order, from any client; resuming replays`,
    async () => {
      const c = await fresh();
      const seen: DispatchChange[] = [];
      const resumed: DispatchChange[] = [];
      try {
        const start = (await c.a.snapshot()).revision;
        const w = await c.a.watch(
          start,
          (x) => seen.push(x),
          (why) => {
            throw new Error(`unexpected reset: ${why}`);
          },
        );
        const inc = await openFor(c.b, "s1");
        const p = await addPatrol(c.b, "p1");
        const { done } = await transit(c.b, inc, p, { type: "assign", patrolId: "p1" });
        if (!done.ok) throw new Error("refused");
        await until(() => seen.length >= 3, "three changes");
        await w.close();
        expect(seen.map((x) => x.revision)).toEqual([inc.revision, p.revision, done.revision]);
        expect(seen[0]!.incidents.map((i) => i.value.id)).toEqual([inc.value.id]);
        expect(seen[1]!.patrols.map((i) => i.value.id)).toEqual(["p1"]);
        expect(seen[2]!.incidents[0]!.value.state).toBe("assigned");
        expect(seen[2]!.patrols[0]!.value.status).toBe("assigned");
        expect(seen[2]!.incidents[0]!.revision).toBe(done.revision);
        // From the middle: only what came after.
        const w2 = await c.b.watch(
          inc.revision,
          (x) => resumed.push(x),
          () => {},
        );
        await until(() => resumed.length >= 2, "the replay");
        await w2.close();
        expect(resumed.map((x) => x.revision)).toEqual([p.revision, done.revision]);
      } finally {
        await c.close();
      }
    },
    timeoutMs,
  );

  test(
    `${name}: concurrent opens for one student: exactly one incident opens`,
    async () => {
      const c = await fresh();
      try {
        const tries = Array.from({ length: 20 }, async (_, n) => {
          const s = n % 2 === 0 ? c.a : c.b;
          const { incident, event } = openIncident(order("s1", n), { at: T0, actor: "t" });
          const idx = await s.getStudent("s1");
          if (idx?.value.openIncidentId) return false;
          const r = await s.commit({
            incident: { value: incident, expect: 0 },
            student: { studentId: "s1", value: { openIncidentId: incident.id, lastIncidentId: null }, expect: idx?.revision ?? 0 },
            events: [event],
          });
          return r.ok;
        });
        const won = (await Promise.all(tries)).filter(Boolean).length;
        expect(won).toBe(1);
        expect((await c.a.snapshot()).incidents.length).toBe(1);
      } finally {
        await c.close();
      }
    },
    timeoutMs,
  );

  test(
    `${name}: concurrent CAS — racing assigners never give one incident two patrols nor one patrol two incidents`,
    async () => {
      const c = await fresh();
      try {
        await raceAssigners(c);
      } finally {
        await c.close();
      }
    },
    timeoutMs * 4,
  );
}

/**
 * 12 assigners over two clients race for 10 incidents and 4 patrols, resolving as they go (so patrols free
 * and are fought over again), each from its own, possibly stale, reads. Every successful commit is
 * recorded with the revisions it was based on: no two may share a base (that would be a lost update).
 */
async function raceAssigners(c: StoreClients): Promise<void> {
  const incidents: string[] = [];
  for (let i = 0; i < 10; i++) incidents.push((await openFor(c.a, `race-${i}`)).value.id);
  for (let i = 0; i < 4; i++) await addPatrol(c.a, `rp${i}`);
  const wins: string[] = [];
  let attempts = 0;
  const assigner = async (k: number) => {
    const s = k % 2 === 0 ? c.a : c.b;
    for (let round = 0; round < 25; round++) {
      const snap = await s.snapshot();
      const open = snap.incidents.filter((i) => i.value.state === "open");
      const free = snap.patrols.filter((p) => p.value.status === "available");
      const held = snap.incidents.filter((i) => i.value.state === "assigned");
      const pick = <T>(xs: T[]) => xs[(k * 7 + round * 3) % xs.length];
      attempts++;
      if (held.length > 0 && (round + k) % 3 === 0) {
        // Time one out (frees its patrol): the CAS is on the incident and its holder.
        const inc = pick(held)!;
        const holder = snap.patrols.find((p) => p.value.id === inc.value.patrolId)!;
        const { done } = await transit(s, inc, holder, { type: "time-out" });
        if (done.ok) wins.push(`inc:${inc.value.id}@${inc.revision}`, `pat:${holder.value.id}@${holder.revision}`);
      } else if (open.length > 0 && free.length > 0) {
        const inc = pick(open)!;
        const p = pick(free)!;
        const { done } = await transit(s, inc, p, { type: "assign", patrolId: p.value.id });
        if (done.ok) wins.push(`inc:${inc.value.id}@${inc.revision}`, `pat:${p.value.id}@${p.revision}`);
      }
      if (round % 5 === 4) await Bun.sleep(1);
    }
  };
  await Promise.all(Array.from({ length: 12 }, (_, k) => assigner(k)));
  expect(attempts).toBe(12 * 25);
  // Every win was based on a distinct revision of each value it changed: no lost update.
  expect(new Set(wins).size).toBe(wins.length);
  expect(wins.length).toBeGreaterThan(8);
  // The final state is consistent both ways, as each client reads it.
  for (const s of [c.a, c.b]) {
    const snap = await s.snapshot();
    const byPatrol = new Map<string, string[]>();
    for (const i of snap.incidents) if (i.value.patrolId) byPatrol.set(i.value.patrolId, [...(byPatrol.get(i.value.patrolId) ?? []), i.value.id]);
    for (const [, held] of byPatrol) expect(held.length).toBe(1);
    for (const p of snap.patrols) {
      const holding = snap.incidents.filter((i) => i.value.patrolId === p.value.id).map((i) => i.value.id);
      expect(holding).toEqual(p.value.incidentId ? [p.value.incidentId] : []);
    }
  }
  // The outbox: per incident, seq 1, 2, 3… each once (a lost update would repeat or skip one).
  const events = await c.a.pendingEvents(10_000);
  for (const id of incidents) {
    const seqs = events.filter((e) => e.event.incidentId === id).map((e) => e.event.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  }
}
