import { afterAll, afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileDispatchStore } from "../../src/adapters/embedded/file-dispatch-store.ts";
import { EmbeddedLogBus } from "../../src/adapters/embedded/log-bus.ts";
import { encodeDeploymentOrder, type DeploymentOrder } from "../../src/domain/deployment-order.ts";
import { decodeIncidentEvent, type IncidentEvent } from "../../src/domain/incident-event.ts";
import { auditIncidentHistory } from "../../src/domain/incident-history.ts";
import { CITIES } from "../../src/domain/regions.ts";
import { memoryLogger, silentLogger } from "../../src/log.ts";
import { TOPICS } from "../../src/ports/bus.ts";
import { startDispatch, type DispatchOptions } from "../dispatch/index.ts";
import { parsePatrolFrame } from "./http-client.ts";
import { ServiceDispatchClient } from "./service-client.ts";
import { checkSimulatorOptions, startPatrolSimulator, type PatrolSimulatorOptions } from "./simulator.ts";

setDefaultTimeout(60_000);
const root = mkdtempSync(join(tmpdir(), "acu-patrol-sim-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The real dispatch role on the embedded log and store, and the simulator driving patrols through its service. */
async function world(name: string, dispatch: Partial<DispatchOptions>) {
  const dir = join(root, name);
  const bus = await EmbeddedLogBus.open(join(dir, "bus"), { [TOPICS.alerts]: 3, [TOPICS.incidentEvents]: 3 });
  const store = await FileDispatchStore.open(join(dir, "dispatch"));
  const role = await startDispatch({ bus, store, log: silentLogger, options: { tickMs: 50, ...dispatch } });
  cleanups.push(async () => {
    await role.stop();
    await store.close();
    await bus.close();
  });
  const client = new ServiceDispatchClient(role.service);
  const simulate = async (o: Omit<PatrolSimulatorOptions, "client">) => {
    const sim = await startPatrolSimulator({ client, reportEveryMs: 0, ...o }, silentLogger);
    cleanups.push(async () => void (await sim.stop()));
    return sim;
  };
  const events = (): IncidentEvent[] => {
    const out: IncidentEvent[] = [];
    for (let p = 0; p < bus.partitions(TOPICS.incidentEvents); p++)
      for (const r of bus.read(TOPICS.incidentEvents, p, 0, 1_000_000)) out.push(decodeIncidentEvent(r.value));
    return out;
  };
  const settled = async () =>
    (await role.service.listIncidents({ states: ["open", "assigned", "acknowledged", "en-route", "on-site"] })).length === 0 &&
    (await store.pendingEvents(1)).length === 0;
  const publish = (orders: DeploymentOrder[]) =>
    bus.publish(
      TOPICS.alerts,
      orders.map((o) => ({ key: o.studentId, value: encodeDeploymentOrder(o) })),
    );
  return { role, store, bus, simulate, events, settled, publish };
}

/** Students in catalogue cities (spread over the country), each failing 1 to 3 times. */
function orders(students: number, run: string): DeploymentOrder[] {
  const out: DeploymentOrder[] = [];
  for (let s = 0; s < students; s++) {
    const city = CITIES[(s * 37) % CITIES.length]!;
    for (let k = 0; k <= s % 3; k++)
      out.push({
        alertId: `alert-${run}-${s}-${k}`,
        reportId: `${run}-${s}-${k}`,
        studentId: `${run}-s${s}`,
        exerciseId: "bsq",
        score: (s * 7 + k) % 50,
        threshold: 50,
        latitude: city.latitude,
        longitude: city.longitude,
        region: city.region,
        reportedAt: 0,
        raisedAt: 0,
      });
  }
  return out;
}

async function until(ok: () => Promise<boolean> | boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

const FAST = { speedKmh: 10_000_000, ackAfterMs: 20, resolveAfterMs: 20, positionEveryMs: 20 };

test("20 patrols work through 60 students' incidents: every step by the holder, each assignment seen once, all resolved", async () => {
  const w = await world("loop", { ackTimeoutMs: 10_000 });
  const sim = await w.simulate({ count: 20, seed: 3, ignoreRate: 0, ...FAST });
  expect(w.role.service.listPatrols().map((p) => p.status)).toEqual(Array(20).fill("available"));
  const sent = orders(60, "loop");
  await w.publish(sent);
  await until(async () => w.events().filter((e) => e.type === "opened").length === 60 && (await w.settled()), "every incident resolved");
  const events = w.events();
  const audit = auditIncidentHistory(events);
  expect(audit.problems).toEqual([]);
  expect(new Set(audit.orders.keys())).toEqual(new Set(sent.map((o) => o.alertId)));
  expect([...audit.states.values()].every((s) => s === "resolved")).toBe(true);
  // The patrol's own steps, each made by the patrol holding the incident.
  for (const e of events.filter((x) => ["acknowledged", "en-route", "on-site", "resolved"].includes(x.type))) {
    const holder = e.type === "resolved" ? events.find((x) => x.incidentId === e.incidentId && x.seq === e.seq - 1)!.patrolId : e.patrolId;
    expect(e.actor).toBe(`patrol:${holder}`);
  }
  const t = sim.totals();
  expect(t.assignments).toBe(audit.assignments);
  expect(t.resolved).toBe(audit.states.size);
  expect([t.acknowledged, t.enRoute, t.arrived]).toEqual([t.resolved, t.resolved, t.resolved]);
  expect([t.ignored, t.takenAway, t.refused, t.unreachable, t.actedForOther]).toEqual([0, 0, 0, 0, 0]);
  expect(t.positions).toBeGreaterThanOrEqual(t.arrived);
  // Patrols end where their last incident was: each patrol's stored position is one it drove to.
  const last = new Map<string, IncidentEvent>();
  for (const e of events.filter((x) => x.type === "on-site")) if ((last.get(e.patrolId!)?.at ?? -1) <= e.at) last.set(e.patrolId!, e);
  for (const p of w.role.service.listPatrols()) {
    const e = last.get(p.id);
    if (e) expect([p.latitude, p.longitude]).toEqual([e.latitude, e.longitude]);
  }
});

test("ignored assignments time out and go to the next patrol; every incident still resolved", async () => {
  const w = await world("ignore", { ackTimeoutMs: 1000 });
  const sim = await w.simulate({ count: 6, seed: 11, ignoreRate: 0.5, ...FAST, ackAfterMs: 10 });
  await w.publish(orders(10, "ign"));
  await until(async () => w.events().filter((e) => e.type === "opened").length === 10 && (await w.settled()), "every incident resolved");
  const events = w.events();
  const audit = auditIncidentHistory(events);
  expect(audit.problems).toEqual([]);
  expect([...audit.states.values()].every((s) => s === "resolved")).toBe(true);
  const timedOut = events.filter((e) => e.type === "timed-out");
  const t = sim.totals();
  expect(t.ignored).toBeGreaterThan(0);
  // Each ignored assignment is one time-out, taken away from the patrol that ignored it.
  expect(timedOut.length).toBe(t.ignored);
  expect(t.takenAway).toBe(t.ignored);
  expect(t.assignments).toBe(audit.assignments);
  expect(t.resolved).toBe(audit.states.size);
});

test("an assignment made while a patrol's stream is down reaches it when the stream is reopened from its cursor", async () => {
  const w = await world("reconnect", { ackTimeoutMs: 10_000 });
  const log = memoryLogger();
  const sim = await startPatrolSimulator(
    { client: new ServiceDispatchClient(w.role.service), count: 1, seed: 5, ignoreRate: 0, ...FAST, reconnectMs: 400, reportEveryMs: 0 },
    log,
  );
  cleanups.push(async () => void (await sim.stop()));
  await until(() => sim.patrols[0]!.stats.frames > 0, "the first assignment frame");
  const before = sim.patrols[0]!.stats.frames;
  expect(sim.dropStreams(1)).toBe(1);
  await w.publish(orders(1, "rec"));
  await until(() => w.events().some((e) => e.type === "assigned"), "the assignment");
  // Still down: the patrol has not heard of it.
  expect(sim.patrols[0]!.stats.frames).toBe(before);
  expect(sim.patrols[0]!.holding).toBeNull();
  await until(() => w.settled(), "the incident resolved");
  const t = sim.totals();
  expect([t.reconnects, t.assignments, t.resolved]).toEqual([1, 1, 1]);
  expect(log.text()).toContain("stream lost (dropped on purpose)");
  expect(auditIncidentHistory(w.events()).problems).toEqual([]);
});

test("options that cannot make a simulation are refused, naming the option", () => {
  const client = new ServiceDispatchClient(null as never);
  const bad: Array<[Partial<PatrolSimulatorOptions>, RegExp]> = [
    [{ count: 0 }, /count/],
    [{ count: 1.5 }, /count/],
    [{ count: 1001 }, /count/],
    [{ speedKmh: 0 }, /speedKmh/],
    [{ speedKmh: Number.NaN }, /speedKmh/],
    [{ ignoreRate: 1 }, /ignoreRate/],
    [{ ignoreRate: -0.1 }, /ignoreRate/],
    [{ resolveAfterMs: -1 }, /resolveAfterMs/],
    [{ positionEveryMs: 0 }, /positionEveryMs/],
  ];
  for (const [o, msg] of bad) expect(() => checkSimulatorOptions({ client, count: 5, ...o })).toThrow(msg);
  expect(checkSimulatorOptions({ client, count: 5, seed: 1 })).toMatchObject({
    count: 5,
    speedKmh: 40,
    ignoreRate: 0.1,
    resolveAfterMs: 20_000,
    prefix: "sim-",
    seed: 1,
  });
});

test("patrol stream frames: the contract's three kinds parse; anything else is refused", () => {
  const patrol = { patrolId: "p-1", name: "A", status: "available", latitude: 1, longitude: 2, positionAt: 0, incidentId: null, since: 0 };
  const times = { openedAt: 0, assignedAt: 1, acknowledgedAt: null, enRouteAt: null, onSiteAt: null, resolvedAt: null, cancelledAt: null };
  const incident = {
    incidentId: "inc-1",
    studentId: "s",
    state: "assigned",
    patrolId: "p-1",
    exerciseId: "bsq",
    lowestScore: 3,
    orderCount: 1,
    alertIds: ["alert-1"],
    raisedAt: 0,
    latitude: 1,
    longitude: 2,
    region: "Bretagne",
    place: "Brest",
    times,
    note: "",
    revision: 2,
    updatedAt: 1,
  };
  for (const f of [
    { type: "assignment", incident: null, patrol, cursor: "1" },
    { type: "assignment", incident, patrol, cursor: "1" },
    { type: "incident", incident, cursor: "2" },
    { type: "patrol", patrol, cursor: "3" },
    { type: "hello", cursor: "3" },
    { type: "gap", cursor: "4" },
  ])
    expect(parsePatrolFrame(JSON.stringify(f))).toEqual(f as never);
  for (const t of [
    "not json",
    "null",
    JSON.stringify({ type: "welcome", cursor: "1" }),
    JSON.stringify({ type: "hello" }),
    JSON.stringify({ type: "incident", incident: { ...incident, revision: "2" }, cursor: "1" }),
    JSON.stringify({ type: "patrol", patrol, cursor: 3 }),
    JSON.stringify({ type: "incident", incident: { ...incident, state: "lost" }, cursor: "1" }),
    JSON.stringify({ type: "assignment", incident: null, cursor: "1" }),
  ])
    expect(parsePatrolFrame(t)).toBeNull();
});
