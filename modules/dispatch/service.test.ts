import { afterAll, afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileDispatchStore } from "../../src/adapters/embedded/file-dispatch-store.ts";
import { DispatchConflictError, DispatchForbiddenError, DispatchInputError, DispatchNotFoundError } from "../../src/domain/dispatch-errors.ts";
import { silentLogger } from "../../src/log.ts";
import { order } from "../../src/ports/dispatch-store.contract.ts";
import { OrderIntake } from "./intake.ts";
import { DispatchService } from "./service.ts";
import type { FeedFrame } from "./view.ts";

const root = mkdtempSync(join(tmpdir(), "acu-dispatch-service-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function service(historySize?: number) {
  const store = await FileDispatchStore.open(join(root, `s${n++}`));
  const svc = await DispatchService.open(store, silentLogger, { historySize });
  open.push(store, svc);
  return { store, svc, intake: new OrderIntake(svc.writer) };
}

/** An incident opened for `student` and assigned to `patrolId` (the only available patrol). */
async function assignedIncident(s: Awaited<ReturnType<typeof service>>, student: string, patrolId: string) {
  await s.intake.take([order(student, 1)]);
  const inc = (await s.svc.listIncidents({ states: ["open"] })).find((i) => i.studentId === student)!;
  return s.svc.reassign(inc.id, patrolId);
}

test("patrols: register, update, position, off duty (refused while holding an incident), list and get", async () => {
  const s = await service();
  const p = await s.svc.registerPatrol("p-1", "Alpha", 48.85, 2.35);
  expect(p).toMatchObject({ id: "p-1", name: "Alpha", status: "available", incidentId: null });
  expect((await s.svc.position("p-1", 45.76, 4.83)).latitude).toBe(45.76);
  expect((await s.svc.registerPatrol("p-1", "Alpha bis", 1, 2)).name).toBe("Alpha bis");
  expect((await s.svc.offDuty("p-1")).status).toBe("off-duty");
  expect((await s.svc.offDuty("p-1")).status).toBe("off-duty");
  expect((await s.svc.registerPatrol("p-1", "Alpha", 1, 2)).status).toBe("available");
  await s.svc.registerPatrol("p-0", "Zero", 1, 2);
  expect(s.svc.listPatrols().map((x) => x.id)).toEqual(["p-0", "p-1"]);
  expect((await s.svc.getPatrol("p-0")).name).toBe("Zero");
  const held = await assignedIncident(s, "s1", "p-1");
  const e = await s.svc.offDuty("p-1").catch((x) => x);
  expect(e).toBeInstanceOf(DispatchConflictError);
  expect(e.state).toBe("assigned");
  expect(e.message).toContain(held.id);
});

test("bad input is a DispatchInputError naming the field; unknown ids are DispatchNotFoundError", async () => {
  const s = await service();
  const bad: Array<[Promise<unknown>, RegExp]> = [
    [s.svc.registerPatrol("P 1", "x", 1, 1), /patrolId/],
    [s.svc.registerPatrol("p1", "", 1, 1), /name/],
    [s.svc.registerPatrol("p1", "x", 91, 1), /latitude/],
    [s.svc.position("p1", 1, Number.NaN), /longitude/],
    [s.svc.resolve("inc-x", "p1", "x".repeat(2001)), /note/],
    [s.svc.listIncidents({ limit: 0 }), /limit/],
    [s.svc.listIncidents({ states: ["lost" as "open"] }), /state/],
    [(async () => s.svc.subscribe("abc", () => {}))(), /cursor/],
  ];
  for (const [p, msg] of bad) {
    const e = await p.then(
      () => null,
      (x) => x,
    );
    expect(e).toBeInstanceOf(DispatchInputError);
    expect(e.message).toMatch(msg);
  }
  for (const p of [
    s.svc.getIncident("inc-none"),
    s.svc.acknowledge("inc-none", "p1"),
    s.svc.getPatrol("p9"),
    s.svc.offDuty("p9"),
    s.svc.position("p9", 1, 1),
  ]) {
    expect(
      await p.then(
        () => null,
        (x) => x,
      ),
    ).toBeInstanceOf(DispatchNotFoundError);
  }
});

test("a patrol walks its incident to resolved; another patrol is forbidden; an illegal step is a conflict with the state", async () => {
  const s = await service();
  await s.svc.registerPatrol("p1", "One", 48.85, 2.35);
  await s.svc.registerPatrol("p2", "Two", 48.85, 2.35);
  const inc = await assignedIncident(s, "s1", "p1");
  expect(inc).toMatchObject({ state: "assigned", patrolId: "p1" });
  const forbidden = await s.svc.acknowledge(inc.id, "p2").catch((x) => x);
  expect(forbidden).toBeInstanceOf(DispatchForbiddenError);
  expect(forbidden.holder).toBe("p1");
  const early = await s.svc.arrive(inc.id, "p1").catch((x) => x);
  expect(early).toBeInstanceOf(DispatchConflictError);
  expect(early.state).toBe("assigned");
  expect((await s.svc.acknowledge(inc.id, "p1")).state).toBe("acknowledged");
  expect((await s.svc.enRoute(inc.id, "p1")).state).toBe("en-route");
  expect((await s.svc.getPatrol("p1")).status).toBe("en-route");
  // An operator acts for the holder.
  expect((await s.svc.arrive(inc.id, null)).state).toBe("on-site");
  const done = await s.svc.resolve(inc.id, "p1", "back on track");
  expect(done).toMatchObject({ state: "resolved", patrolId: null, note: "back on track" });
  expect(await s.svc.getPatrol("p1")).toMatchObject({ status: "available", incidentId: null });
  const again = await s.svc.resolve(inc.id, "p1").catch((x) => x);
  expect(again).toBeInstanceOf(DispatchConflictError);
  expect(again.state).toBe("resolved");
  expect((await s.store.getStudent("s1"))!.value).toEqual({ openIncidentId: null, lastIncidentId: inc.id, recentAlertIds: [order("s1", 1).alertId] });
  const events = (await s.store.pendingEvents(100)).map((e) => [e.event.type, e.event.actor]);
  expect(events).toEqual([
    ["opened", "dispatch"],
    ["assigned", "operator"],
    ["acknowledged", "patrol:p1"],
    ["en-route", "patrol:p1"],
    ["on-site", "operator"],
    ["resolved", "patrol:p1"],
  ]);
});

test("reassign: to a named patrol in one step, or back to open; cancel frees the patrol", async () => {
  const s = await service();
  for (const id of ["p1", "p2"]) await s.svc.registerPatrol(id, id, 48.85, 2.35);
  const inc = await assignedIncident(s, "s1", "p1");
  await s.svc.acknowledge(inc.id, "p1");
  const moved = await s.svc.reassign(inc.id, "p2", { note: "p1 broke down" });
  expect(moved).toMatchObject({ state: "assigned", patrolId: "p2" });
  expect(moved.passedOver.map((x) => x.patrolId)).toEqual(["p1"]);
  expect((await s.svc.getPatrol("p1")).status).toBe("available");
  expect((await s.svc.getPatrol("p2")).incidentId).toBe(inc.id);
  const same = await s.svc.reassign(inc.id, "p2").catch((x) => x);
  expect(same).toBeInstanceOf(DispatchConflictError);
  const back = await s.svc.reassign(inc.id);
  expect(back).toMatchObject({ state: "open", patrolId: null });
  const openAgain = await s.svc.reassign(inc.id).catch((x) => x);
  expect(openAgain).toBeInstanceOf(DispatchConflictError);
  expect(openAgain.state).toBe("open");
  await s.svc.reassign(inc.id, "p1");
  await s.svc.offDuty("p2");
  const busy = await s.svc.reassign(inc.id, "p2").catch((x) => x);
  expect(busy).toBeInstanceOf(DispatchConflictError);
  expect(busy.state).toBe("off-duty");
  expect(busy.subject).toEqual({ kind: "patrol", id: "p2" });
  const cancelled = await s.svc.cancel(inc.id, "student left");
  expect(cancelled).toMatchObject({ state: "cancelled", patrolId: null, note: "student left" });
  expect((await s.svc.getPatrol("p1")).status).toBe("available");
  const types = (await s.store.pendingEvents(100)).map((e) => e.event.type);
  expect(types).toEqual(["opened", "assigned", "acknowledged", "reassigned", "assigned", "reassigned", "assigned", "cancelled"]);
});

test("orders: one incident per student while open, later orders attach, redeliveries are known, a new one after closing", async () => {
  const s = await service();
  expect(await s.intake.take([order("s1", 1, 40), order("s1", 2, 10), order("s2", 1)])).toEqual({ opened: 2, attached: 1, known: 0 });
  expect(await s.intake.take([order("s1", 1), order("s1", 2), order("s1", 3, 30)])).toEqual({ opened: 0, attached: 1, known: 2 });
  const [inc] = (await s.svc.listIncidents()).filter((i) => i.studentId === "s1");
  expect(inc).toMatchObject({ orderCount: 3, lowestScore: 10, state: "open" });
  await s.svc.cancel(inc!.id, "x");
  // Redelivered after it closed: still known.
  expect(await s.intake.take([order("s1", 1), order("s1", 3)])).toEqual({ opened: 0, attached: 0, known: 2 });
  expect(await s.intake.take([order("s1", 4)])).toEqual({ opened: 1, attached: 0, known: 0 });
  const open = (await s.svc.listIncidents({ states: ["open"] })).filter((i) => i.studentId === "s1");
  expect(open.length).toBe(1);
  expect(open[0]!.id).not.toBe(inc!.id);
  // Concurrent intakes of the same orders (two consumers during a rebalance): one incident.
  await Promise.all([s.intake.take([order("s3", 1), order("s3", 2)]), s.intake.take([order("s3", 1), order("s3", 2)]), s.intake.take([order("s3", 2)])]);
  const s3 = (await s.svc.listIncidents()).filter((i) => i.studentId === "s3");
  expect(s3.length).toBe(1);
  expect(s3[0]!.orderCount).toBe(2);
});

test("an order that opened an older incident, resent past every bound, opens nothing: the first try's CAS refuses it, the next reads", async () => {
  const s = await service();
  const incidents = async () => (await s.svc.listIncidents()).filter((i) => i.studentId === "s1");
  expect(await s.intake.take([order("s1", 1)])).toEqual({ opened: 1, attached: 0, known: 0 });
  const [first] = await incidents();
  // 40 more orders (past the 32 recent ones the index keeps), then a second incident opened and closed: the last.
  expect(await s.intake.take(Array.from({ length: 40 }, (_, i) => order("s1", 2 + i)))).toEqual({ opened: 0, attached: 40, known: 0 });
  await s.svc.cancel(first!.id, "x");
  expect(await s.intake.take([order("s1", 50)])).toEqual({ opened: 1, attached: 0, known: 0 });
  const second = (await incidents()).find((i) => i.id !== first!.id)!;
  await s.svc.cancel(second.id, "x");
  expect((await s.store.getStudent("s1"))!.value.recentAlertIds).not.toContain(order("s1", 1).alertId);
  // Order 1 again: not recent, not in the last incident; only its own incident's existence says it is known.
  expect(await s.intake.take([order("s1", 1)])).toEqual({ opened: 0, attached: 0, known: 1 });
  expect((await incidents()).length).toBe(2);
});

test("an order resent past the alert role's horizon (same student, same report) sends no second patrol, its incident open or closed since", async () => {
  const s = await service();
  const ids = (orders: ReturnType<typeof order>[]) => orders.map((o) => o.alertId);
  const incidents = async () => (await s.svc.listIncidents()).filter((i) => i.studentId === "s1");
  // Order 2 opened nothing: it attached, then 24 more orders pushed it out of the incident's kept orders.
  const later = Array.from({ length: 24 }, (_, i) => order("s1", 3 + i));
  expect(await s.intake.take([order("s1", 1), order("s1", 2), ...later])).toEqual({ opened: 1, attached: 25, known: 0 });
  expect(await s.intake.take([order("s1", 2)])).toEqual({ opened: 0, attached: 0, known: 1 });
  const [first] = await incidents();
  expect(first!.orderCount).toBe(26);
  await s.svc.cancel(first!.id, "x");
  // Another incident of the student opened and closed since: order 2 resent still opens nothing.
  expect(await s.intake.take([order("s1", 30)])).toEqual({ opened: 1, attached: 0, known: 0 });
  const second = (await incidents()).find((i) => i.id !== first!.id)!;
  await s.svc.cancel(second.id, "x");
  expect(await s.intake.take([order("s1", 2), order("s1", 5)])).toEqual({ opened: 0, attached: 0, known: 2 });
  expect((await incidents()).length).toBe(2);
  // Bounded: the student's 32 most recent orders, oldest dropped first.
  const newer = Array.from({ length: 10 }, (_, i) => order("s1", 31 + i));
  expect(await s.intake.take(newer)).toEqual({ opened: 1, attached: 9, known: 0 });
  expect((await s.store.getStudent("s1"))!.value.recentAlertIds).toEqual(ids([...later.slice(-21), order("s1", 30), ...newer]));
  // Past that bound, a resend joins the student's open incident: one more order counted, still no second patrol.
  expect(await s.intake.take([order("s1", 2)])).toEqual({ opened: 0, attached: 1, known: 0 });
  expect((await incidents()).length).toBe(3);
});

test("lists: by state, newest change first, limited; closed ones included", async () => {
  const s = await service();
  await s.svc.registerPatrol("p1", "p1", 48.85, 2.35);
  for (let i = 0; i < 5; i++) await s.intake.take([order(`s${i}`, 1)]);
  const all = await s.svc.listIncidents({ states: ["open"] });
  await s.svc.cancel(all[0]!.id, "x");
  await s.svc.reassign(all[1]!.id, "p1");
  expect((await s.svc.listIncidents()).map((i) => i.state)).toEqual(["assigned", "cancelled", "open", "open", "open"]);
  expect((await s.svc.listIncidents({ states: ["cancelled", "assigned"] })).length).toBe(2);
  expect((await s.svc.listIncidents({ limit: 2 })).length).toBe(2);
  expect(await s.svc.listIncidents({ states: ["resolved"] })).toEqual([]);
});

test("the feed: a snapshot first, then each change; a cursor resumes exactly after it; a stale cursor gets a snapshot", async () => {
  const s = await service(3);
  await s.svc.registerPatrol("p1", "p1", 48.85, 2.35);
  const frames: FeedFrame[] = [];
  const sub = s.svc.subscribe(null, (f) => frames.push(f));
  expect(frames[0]).toMatchObject({ type: "snapshot", incidents: [], patrols: [{ id: "p1" }] });
  await s.intake.take([order("s1", 1)]);
  const inc = (await s.svc.listIncidents())[0]!;
  await s.svc.reassign(inc.id, "p1");
  await s.svc.acknowledge(inc.id, "p1");
  expect(frames.map((f) => f.type)).toEqual(["snapshot", "change", "change", "change"]);
  expect(frames[2]!.incidents[0]!.state).toBe("assigned");
  expect(frames[2]!.patrols[0]!.status).toBe("assigned");
  const cursors = frames.map((f) => Number(f.cursor));
  expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
  sub.close();
  const resumed: FeedFrame[] = [];
  s.svc.subscribe(frames[1]!.cursor, (f) => resumed.push(f)).close();
  expect(resumed.map((f) => f.cursor)).toEqual([frames[2]!.cursor, frames[3]!.cursor]);
  // Three changes are kept: the registration (the first) is gone, so a cursor from before it gets a snapshot.
  const fromZero: FeedFrame[] = [];
  s.svc.subscribe("0", (f) => fromZero.push(f)).close();
  expect(fromZero.map((f) => f.type)).toEqual(["snapshot"]);
  expect(fromZero[0]!.incidents[0]).toMatchObject({ id: inc.id, state: "acknowledged" });
});

test("a step decided on a stale view is decided again on the store's values: the CAS refuses the stale copy, the domain's refusal of it is not the caller's", async () => {
  const s = await service();
  // The other service's view hears of changes only when told: its copies stay stale meanwhile.
  const held: Array<() => void> = [];
  const slowWatch = Object.create(s.store) as typeof s.store;
  let commits = 0;
  slowWatch.commit = (c) => {
    commits++;
    return s.store.commit(c);
  };
  slowWatch.watch = (after, onChange, onReset) => s.store.watch(after, (c) => held.push(() => onChange(c)), onReset);
  const stale = await DispatchService.open(slowWatch, silentLogger);
  open.push(stale);
  const deliver = () => {
    for (const f of held.splice(0)) f();
  };
  await s.svc.registerPatrol("p-1", "Alpha", 48.85, 2.35);
  const inc = await assignedIncident(s, "s-stale", "p-1");
  await Bun.sleep(20);
  deliver();
  expect(stale.view.incident(inc.id)?.value.state).toBe("assigned");
  // Acknowledged elsewhere: the stale view still says assigned, where en route is an illegal step;
  // decided again on the store's copy, it is legal.
  await s.svc.acknowledge(inc.id, "p-1");
  expect(stale.view.incident(inc.id)?.value.state).toBe("assigned");
  expect((await stale.enRoute(inc.id, "p-1")).state).toBe("en-route");
  // Its own commit taught it; a position sent elsewhere leaves its copy of the patrol a revision behind:
  // the step is legal on the copy, the CAS refuses it, and the store's values commit.
  await s.svc.position("p-1", 48.86, 2.36);
  const commitsBefore = commits;
  expect((await stale.arrive(inc.id, "p-1")).state).toBe("on-site");
  expect(commits - commitsBefore).toBe(2);
  const r = await stale.resolve(inc.id, "p-1", "done").catch((x) => x);
  expect(r.state).toBe("resolved");
  expect((await s.store.getIncident(inc.id))!.value.state).toBe("resolved");
  // A step illegal on the store's values too is refused, naming the state.
  const e = await stale.acknowledge(inc.id, "p-1").catch((x) => x);
  expect(e).toBeInstanceOf(DispatchConflictError);
  deliver();
});
