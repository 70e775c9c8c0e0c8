import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Etcd3 } from "etcd3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileDispatchStore } from "../../src/adapters/embedded/file-dispatch-store.ts";
import { EmbeddedLogBus } from "../../src/adapters/embedded/log-bus.ts";
import { EtcdDispatchStore } from "../../src/adapters/etcd/etcd-dispatch-store.ts";
import { KafkaBus } from "../../src/adapters/kafka/kafka-bus.ts";
import { encodeDeploymentOrder, type DeploymentOrder } from "../../src/domain/deployment-order.ts";
import { DispatchConflictError, DispatchError } from "../../src/domain/dispatch-errors.ts";
import { auditIncidentHistory } from "../../src/domain/incident-history.ts";
import { decodeIncidentEvent, type IncidentEvent } from "../../src/domain/incident-event.ts";
import { silentLogger } from "../../src/log.ts";
import { TOPICS, type Bus } from "../../src/ports/bus.ts";
import type { DispatchStore } from "../../src/ports/dispatch-store.ts";
import { DISPATCH_GROUP, startDispatch, type DispatchRole } from "./dispatch.ts";
import type { DispatchService } from "./service.ts";

setDefaultTimeout(120_000);
const root = mkdtempSync(join(tmpdir(), "acu-dispatch-role-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const TOPIC_PARTITIONS = { [TOPICS.alerts]: 3, [TOPICS.incidentEvents]: 3 };

const CITIES = [
  [48.8566, 2.3522],
  [45.764, 4.8357],
  [43.2965, 5.3698],
  [50.6292, 3.0573],
  [47.2184, -1.5536],
  [44.8378, -0.5792],
  [43.6047, 1.4442],
  [48.5734, 7.7521],
  [48.1173, -1.6778],
  [49.4432, 1.0999],
] as const;

/** `students` students, each failing 1 to 3 times, every tenth order sent twice (a redelivery). */
function ordersFor(students: number, run: string): DeploymentOrder[] {
  const out: DeploymentOrder[] = [];
  for (let s = 0; s < students; s++) {
    const [lat, lon] = CITIES[s % CITIES.length]!;
    for (let k = 0; k <= s % 3; k++) {
      const o: DeploymentOrder = {
        alertId: `alert-${run}-${s}-${k}`,
        reportId: `${run}-${s}-${k}`,
        studentId: `${run}-student-${s}`,
        exerciseId: `ex${k}`,
        score: (s * 7 + k * 13) % 50,
        threshold: 50,
        latitude: lat + (s % 5) * 0.01,
        longitude: lon,
        region: "test",
        reportedAt: 0,
        raisedAt: 0,
      };
      out.push(o);
      if (out.length % 10 === 0) out.push(o);
    }
  }
  return out;
}

async function publishOrders(bus: Bus, orders: DeploymentOrder[], chunks = 4): Promise<void> {
  const size = Math.ceil(orders.length / chunks);
  for (let i = 0; i < orders.length; i += size) {
    await bus.publish(
      TOPICS.alerts,
      orders.slice(i, i + size).map((o) => ({ key: o.studentId, value: encodeDeploymentOrder(o) })),
    );
    await Bun.sleep(30);
  }
}

/**
 * Patrols that do their job through a service (each patrol through one of the services given): acknowledge
 * what they are assigned, drive, arrive, resolve. `lazy` patrols never acknowledge (their assignments time out).
 */
class PatrolCrew {
  private stopped = false;
  private loop: Promise<void> | null = null;
  readonly steps = { acknowledge: 0, enRoute: 0, arrive: 0, resolve: 0 };
  readonly refused: string[] = [];

  constructor(private readonly patrols: Array<{ id: string; via: DispatchService; lazy?: boolean }>) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        await Promise.all(this.patrols.map((p) => this.act(p)));
        await Bun.sleep(3);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async act(p: { id: string; via: DispatchService; lazy?: boolean }): Promise<void> {
    const mine = p.via.view.patrol(p.id)?.value.incidentId;
    const inc = mine ? p.via.view.incident(mine)?.value : undefined;
    if (!inc || inc.patrolId !== p.id) return;
    try {
      if (inc.state === "assigned" && !p.lazy) await p.via.acknowledge(inc.id, p.id).then(() => this.steps.acknowledge++);
      else if (inc.state === "acknowledged") await p.via.enRoute(inc.id, p.id).then(() => this.steps.enRoute++);
      else if (inc.state === "en-route") await p.via.arrive(inc.id, p.id).then(() => this.steps.arrive++);
      else if (inc.state === "on-site") await p.via.resolve(inc.id, p.id, "sorted").then(() => this.steps.resolve++);
    } catch (e) {
      // A view a moment behind (the assignment was just taken back): the next look is fresher.
      if (!(e instanceof DispatchError)) throw e;
      this.refused.push(`${e.name}: ${e.message}`);
    }
  }
}

async function until(ok: () => Promise<boolean> | boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** Every incident event on the embedded bus. */
function embeddedEvents(bus: EmbeddedLogBus): IncidentEvent[] {
  const out: IncidentEvent[] = [];
  for (let p = 0; p < bus.partitions(TOPICS.incidentEvents); p++)
    for (const r of bus.read(TOPICS.incidentEvents, p, 0, 1_000_000)) out.push(decodeIncidentEvent(r.value));
  return out;
}

async function settled(services: DispatchService[], stores: DispatchStore[]): Promise<boolean> {
  for (const s of services) if ((await s.listIncidents({ states: ["open", "assigned", "acknowledged", "en-route", "on-site"] })).length > 0) return false;
  return (await stores[0]!.pendingEvents(1)).length === 0;
}

/** What the history must show: every order in one incident, no patrol or student on two at once, all resolved. */
function expectSound(events: IncidentEvent[], orders: DeploymentOrder[]) {
  const audit = auditIncidentHistory(events);
  expect(audit.problems).toEqual([]);
  const alertIds = new Set(orders.map((o) => o.alertId));
  expect(new Set(audit.orders.keys())).toEqual(alertIds);
  expect([...audit.states.values()].every((s) => s === "resolved")).toBe(true);
  const students = new Set(orders.map((o) => o.studentId));
  expect(new Set(events.map((e) => e.studentId))).toEqual(students);
  return audit;
}

/** A dispatch role on an embedded log and store of its own (a folder of the test root); `close` stops all three. */
async function embeddedDispatch(name: string, options: Parameters<typeof startDispatch>[0]["options"]) {
  const dir = join(root, name);
  const bus = await EmbeddedLogBus.open(join(dir, "bus"), TOPIC_PARTITIONS);
  const store = await FileDispatchStore.open(join(dir, "dispatch"));
  const role = await startDispatch({ bus, store, log: silentLogger, options });
  return {
    bus,
    store,
    role,
    async close() {
      await role.stop();
      await store.close();
      await bus.close();
    },
  };
}

describe("dispatch role on the embedded log and store", () => {
  test("orders of 60 students, 6 patrols: each order in one incident, one patrol per incident at a time, all resolved", async () => {
    const { bus, store, role, close } = await embeddedDispatch("loop", { tickMs: 200 });
    const crew = new PatrolCrew(CITIES.slice(0, 6).map((_, i) => ({ id: `p${i}`, via: role.service })));
    for (let i = 0; i < 6; i++) await role.service.registerPatrol(`p${i}`, `Patrol ${i}`, CITIES[i]![0], CITIES[i]![1]);
    crew.start();
    const orders = ordersFor(60, "emb");
    await publishOrders(bus, orders);
    const end = await bus.endOffsets(TOPICS.alerts);
    await until(() => end.every((e, p) => (bus.committedOffset(DISPATCH_GROUP, TOPICS.alerts, p) ?? 0) >= e), "the orders to be taken");
    await until(() => settled([role.service], [store]), "every incident resolved and published");
    await crew.stop();
    const events = embeddedEvents(bus);
    const audit = expectSound(events, orders);
    expect(audit.assignments).toBe(role.assigner.totals.assigned);
    expect(crew.steps.resolve).toBe(audit.states.size);
    console.log(
      `embedded: ${orders.length} orders (${new Set(orders.map((o) => o.alertId)).size} distinct) → ${audit.states.size} incidents, ${audit.events} events, ${audit.assignments} assignments, ${role.assigner.totals.conflicts} CAS refusals`,
    );
    await close();
  });

  test("an assignment not acknowledged in time goes to the next nearest patrol; the one that let it time out is passed over", async () => {
    const { bus, store, role, close } = await embeddedDispatch("timeout", { ackTimeoutMs: 300, passOverMs: 60_000, tickMs: 100 });
    // Near is in Paris with the student and never answers; far is in Lyon.
    await role.service.registerPatrol("near", "Near", 48.86, 2.35);
    await role.service.registerPatrol("far", "Far", 45.76, 4.83);
    const crew = new PatrolCrew([
      { id: "near", via: role.service, lazy: true },
      { id: "far", via: role.service },
    ]);
    crew.start();
    const [o] = ordersFor(1, "tmo");
    await publishOrders(bus, [o!], 1);
    await until(() => settled([role.service], [store]), "the incident resolved");
    await crew.stop();
    const events = embeddedEvents(bus).sort((a, b) => a.seq - b.seq);
    expectSound(events, [o!]);
    expect(events.map((e) => [e.type, e.patrolId])).toEqual([
      ["opened", null],
      ["assigned", "near"],
      ["timed-out", null],
      ["assigned", "far"],
      ["acknowledged", "far"],
      ["en-route", "far"],
      ["on-site", "far"],
      ["resolved", null],
    ]);
    expect(events[2]!.actor).toBe("timeout");
    expect(events[2]!.at - events[1]!.at).toBeGreaterThanOrEqual(300);
    await close();
  });

  test("a new incident gets its patrol in the commit that opens it while nothing waits; while one waits, the queue's order decides", async () => {
    // No safety rounds in the test's time: assignments come from the openings and the rounds changes cue.
    const { bus, role, close } = await embeddedDispatch("at-open", { ackTimeoutMs: 60_000, tickMs: 60_000 });
    await role.service.registerPatrol("solo", "Solo", 48.86, 2.35);
    const seen: Array<[string, string]> = [];
    const sub = role.service.subscribe(null, (f) => {
      for (const i of f.incidents) seen.push([i.studentId, i.state]);
    });
    const [a, b, c] = ordersFor(3, "opn").filter((o, i, all) => all.findIndex((x) => x.studentId === o.studentId) === i);
    await publishOrders(bus, [a!], 1);
    await until(async () => (await role.service.listIncidents({ states: ["assigned"] })).length === 1, "the first assignment");
    // Never seen open: opened and assigned in one commit, one change of the feed.
    expect(seen.filter(([s]) => s === a!.studentId)).toEqual([[a!.studentId, "assigned"]]);
    // Solo is busy: b waits; c, with a lower score, arrives while b waits and waits too.
    await publishOrders(bus, [{ ...b!, score: 30 }], 1);
    await until(async () => (await role.service.listIncidents({ states: ["open"] })).length === 1, "b waiting");
    await publishOrders(bus, [{ ...c!, score: 5 }], 1);
    await until(async () => (await role.service.listIncidents({ states: ["open"] })).length === 2, "c waiting");
    // A patrol frees up (a new one): the lowest score goes first, whatever came first.
    await role.service.registerPatrol("second", "Second", 48.86, 2.35);
    await until(async () => (await role.service.listIncidents({ states: ["assigned"] })).length === 2, "the second assignment");
    const assigned = await role.service.listIncidents({ states: ["assigned"] });
    expect(assigned.find((i) => i.patrolId === "second")?.studentId).toBe(c!.studentId);
    expect((await role.service.listIncidents({ states: ["open"] })).map((i) => i.studentId)).toEqual([b!.studentId]);
    expect(role.assigner.totals.assigned).toBe(2);
    sub.close();
    await close();
  });

  test("no patrol is claimed at an opening while an incident waits, even one it cannot have (passed over)", async () => {
    const { bus, role, close } = await embeddedDispatch("at-open-waiting", { ackTimeoutMs: 200, passOverMs: 60_000, tickMs: 100 });
    await role.service.registerPatrol("lazy", "Lazy", 48.86, 2.35);
    const [o] = ordersFor(1, "wtg");
    await publishOrders(bus, [o!], 1);
    // Assigned at its opening, never acknowledged: it times out and waits, its patrol free but passed over.
    await until(() => embeddedEvents(bus).some((e) => e.type === "timed-out"), "the time-out");
    const [waiting] = await role.service.listIncidents({ states: ["open"] });
    expect(waiting?.passedOver.map((p) => p.patrolId)).toEqual(["lazy"]);
    const another = { ...waiting!, id: "inc-another", studentId: "another", passedOver: [] };
    expect(role.assigner.claimAtOpen(another)).toBeNull();
    await close();
  });

  test("a dispatch restarted on the same store enforces the deadline of an assignment made before it stopped", async () => {
    const dir = join(root, "restart");
    const bus = await EmbeddedLogBus.open(join(dir, "bus"), TOPIC_PARTITIONS);
    let store = await FileDispatchStore.open(join(dir, "dispatch"));
    const options = { ackTimeoutMs: 400, passOverMs: 400, tickMs: 100 };
    let role: DispatchRole = await startDispatch({ bus, store, log: silentLogger, options });
    await role.service.registerPatrol("only", "Only", 48.86, 2.35);
    const [o] = ordersFor(1, "rst");
    await publishOrders(bus, [o!], 1);
    await until(async () => (await role.service.listIncidents({ states: ["assigned"] })).length === 1, "the assignment");
    await role.stop();
    await store.close();
    // Nothing runs now; the deadline passes while no dispatch is up.
    await Bun.sleep(500);
    store = await FileDispatchStore.open(join(dir, "dispatch"));
    role = await startDispatch({ bus, store, log: silentLogger, options });
    await until(async () => embeddedEvents(bus).filter((e) => e.type === "assigned").length === 2, "the second assignment", 10_000);
    const events = embeddedEvents(bus).sort((a, b) => a.seq - b.seq);
    expect(events.map((e) => e.type)).toEqual(["opened", "assigned", "timed-out", "assigned"]);
    // The only patrol gets it again, but not before it was passed over for passOverMs.
    expect(events[3]!.at - events[2]!.at).toBeGreaterThanOrEqual(400);
    await role.stop();
    await store.close();
    await bus.close();
  });

  test("malformed orders on the topic are skipped with a warning and never block the ones after them", async () => {
    const dir = join(root, "malformed");
    const bus = await EmbeddedLogBus.open(join(dir, "bus"), TOPIC_PARTITIONS);
    const store = await FileDispatchStore.open(join(dir, "dispatch"));
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (m: string) => void warnings.push(m), child: () => log };
    const role = await startDispatch({ bus, store, log, options: { tickMs: 200 } });
    const [o] = ordersFor(1, "bad");
    await bus.publish(TOPICS.alerts, [
      { key: o!.studentId, value: "not json" },
      { key: o!.studentId, value: JSON.stringify({ ...o, alertId: "alert-x", score: "low" }) },
      { key: o!.studentId, value: encodeDeploymentOrder(o!) },
    ]);
    await until(async () => (await role.service.listIncidents()).length === 1, "the valid order's incident");
    expect(warnings.join("\n")).toContain("malformed");
    await role.stop();
    await store.close();
    await bus.close();
  });
});

const brokers = process.env.ACU_KAFKA_BROKERS?.split(",");
const etcd = process.env.ACU_ETCD_ENDPOINTS?.split(",").filter((s) => s !== "");
if (!brokers || !etcd) console.log("dispatch.test.ts: the cluster race is skipped (ACU_KAFKA_BROKERS and ACU_ETCD_ENDPOINTS not set)");

describe.skipIf(!brokers || !etcd)("two dispatch instances on etcd and Kafka", () => {
  const run = `${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 6)}`;
  const prefix = `/acu-test/dispatch-race-${run}/`;
  afterAll(async () => {
    const c = new Etcd3({ hosts: etcd! });
    try {
      await c.delete().prefix(prefix);
    } finally {
      c.close();
    }
  });

  test("racing for the same incidents and patrols: 0 double assignments, every order once, all resolved", async () => {
    const namespace = `dispatch-race-${run}-`;
    const open = async () => {
      const bus = await KafkaBus.open({ brokers: brokers!, partitions: TOPIC_PARTITIONS, namespace, replication: 1 });
      const store = await EtcdDispatchStore.open({ endpoints: etcd!, prefix });
      const role = await startDispatch({ bus, store, log: silentLogger, options: { tickMs: 200 } });
      return { bus, store, role };
    };
    const a = await open();
    const b = await open();
    const services = [a.role.service, b.role.service];
    for (let i = 0; i < 8; i++) await services[i % 2]!.registerPatrol(`p${i}`, `Patrol ${i}`, CITIES[i]![0], CITIES[i]![1]);
    const crew = new PatrolCrew(Array.from({ length: 8 }, (_, i) => ({ id: `p${i}`, via: services[(i + 1) % 2]! })));
    crew.start();
    const orders = ordersFor(80, "race");
    await publishOrders(a.bus, orders, 6);
    await until(async () => (await a.role.service.listIncidents()).length > 0, "the first incident");
    await until(() => settled(services, [a.store]), "every incident resolved and published", 90_000);
    await crew.stop();
    const events = await kafkaEvents(a.bus, `${run}-reader`);
    const audit = expectSound(events, orders);
    const totals = [a.role.assigner.totals, b.role.assigner.totals];
    // Each successful CAS made exactly one `assigned` event; each instance won some.
    expect(audit.assignments).toBe(totals[0]!.assigned + totals[1]!.assigned);
    console.log(
      `etcd+kafka: ${audit.states.size} incidents, ${audit.events} events (${audit.republished} republished), assignments A ${totals[0]!.assigned} / B ${totals[1]!.assigned}, CAS refusals A ${totals[0]!.conflicts} / B ${totals[1]!.conflicts}, patrol steps refused ${crew.refused.length}`,
    );
    for (const x of [a, b]) {
      await x.role.stop();
      await x.store.close();
      await x.bus.close();
    }
    expect(crew.refused.filter((r) => !r.startsWith(DispatchConflictError.name))).toEqual([]);
  });
});

/** Every incident event on Kafka, read by a fresh group up to the end offsets. */
async function kafkaEvents(bus: Bus, group: string): Promise<IncidentEvent[]> {
  const end = await bus.endOffsets(TOPICS.incidentEvents);
  const next = end.map(() => 0);
  const out: IncidentEvent[] = [];
  const c = await bus.consume(
    {
      group,
      topics: [TOPICS.incidentEvents],
      commit: "manual",
      start: "earliest",
      onPosition: (_t, p, n) => {
        next[p] = Math.max(next[p]!, n);
      },
    },
    async (batch) => {
      for (const r of batch.records) {
        out.push(decodeIncidentEvent(r.value));
        next[batch.partition] = Math.max(next[batch.partition]!, r.offset + 1);
      }
    },
  );
  await until(() => next.every((n, p) => n >= end[p]!), "the incident events to be read");
  await c.stop();
  return out;
}
