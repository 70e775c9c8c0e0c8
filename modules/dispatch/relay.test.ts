import { afterAll, describe, expect, test } from "bun:test";
import { Etcd3 } from "etcd3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileDispatchStore } from "../../src/adapters/embedded/file-dispatch-store.ts";
import { EmbeddedLogBus } from "../../src/adapters/embedded/log-bus.ts";
import { EtcdDispatchStore } from "../../src/adapters/etcd/etcd-dispatch-store.ts";
import { applyCommand } from "../../src/domain/incident.ts";
import { decodeIncidentEvent } from "../../src/domain/incident-event.ts";
import { silentLogger } from "../../src/log.ts";
import { TOPICS } from "../../src/ports/bus.ts";
import { openFor } from "../../src/ports/dispatch-store.contract.ts";
import { OutboxRelay } from "./relay.ts";
import { DispatchView } from "./view.ts";

const root = mkdtempSync(join(tmpdir(), "acu-dispatch-relay-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const clock = { now: Date.now };

function published(bus: EmbeddedLogBus): string[] {
  const out: string[] = [];
  for (let p = 0; p < bus.partitions(TOPICS.incidentEvents); p++)
    for (const r of bus.read(TOPICS.incidentEvents, p, 0, 10_000)) out.push(decodeIncidentEvent(r.value).eventId);
  return out;
}

test("the relay publishes the outbox keyed by incident, then empties it; a republish keeps the event ids", async () => {
  const bus = await EmbeddedLogBus.open(join(root, "bus-a"), { [TOPICS.incidentEvents]: 2 });
  const store = await FileDispatchStore.open(join(root, "store-a"));
  const view = await DispatchView.open(store, silentLogger);
  const relay = new OutboxRelay(store, bus, view, clock, silentLogger, { takeoverMs: 60_000, intervalMs: 60_000, batch: 3 });
  const incidents = [];
  for (let i = 0; i < 4; i++) incidents.push(await openFor(store, `s${i}`));
  expect(await relay.round()).toBe(3);
  expect(await relay.round()).toBe(1);
  expect(await relay.round()).toBe(0);
  expect(await store.pendingEvents(10)).toEqual([]);
  const ids = published(bus);
  expect(ids.sort()).toEqual(incidents.map((i) => `${i.value.id}:1`).sort());
  for (let p = 0; p < 2; p++) for (const r of bus.read(TOPICS.incidentEvents, p, 0, 10)) expect(r.key).toBe(decodeIncidentEvent(r.value).incidentId);
  await view.close();
  await store.close();
  await bus.close();
});

const ENDPOINTS = (process.env.ACU_ETCD_ENDPOINTS ?? "").split(",").filter((s) => s !== "");
describe.skipIf(ENDPOINTS.length === 0)("relay takeover on etcd", () => {
  const prefix = `/acu-test/relay-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 6)}/`;
  afterAll(async () => {
    const c = new Etcd3({ hosts: ENDPOINTS });
    try {
      await c.delete().prefix(prefix);
    } finally {
      c.close();
    }
  });

  test("another client's events wait for the takeover age, and hold back that incident's later events; then all go, in seq order", async () => {
    const bus = await EmbeddedLogBus.open(join(root, "bus-b"), { [TOPICS.incidentEvents]: 1 });
    const dead = await EtcdDispatchStore.open({ endpoints: ENDPOINTS, prefix });
    const live = await EtcdDispatchStore.open({ endpoints: ENDPOINTS, prefix });
    const view = await DispatchView.open(live, silentLogger);
    const takeoverMs = 1500;
    const relay = new OutboxRelay(live, bus, view, clock, silentLogger, { takeoverMs, intervalMs: 60_000, batch: 100 });
    // The dead client opened one incident; the live one opened another and cancelled the dead one's.
    const theirs = await openFor(dead, "s1");
    const committedAt = Date.now();
    const mine = await openFor(live, "s2");
    const r = applyCommand(theirs.value, null, { type: "cancel", note: "x" }, { at: Date.now(), actor: "t" });
    if (!r.ok) throw new Error(r.reason);
    expect((await live.commit({ incident: { value: r.incident, expect: theirs.revision }, events: [r.event] })).ok).toBe(true);
    const first = await relay.round();
    if (Date.now() - committedAt < takeoverMs) {
      // Only the live client's own event of its own incident: the cancel waits behind the dead client's `opened`.
      expect(first).toBe(1);
      expect(published(bus)).toEqual([`${mine.value.id}:1`]);
    }
    await Bun.sleep(takeoverMs);
    await relay.round();
    expect(published(bus).slice(-2)).toEqual([`${theirs.value.id}:1`, `${theirs.value.id}:2`]);
    expect(await live.pendingEvents(10)).toEqual([]);
    await view.close();
    await dead.close();
    await live.close();
    await bus.close();
  });
});
