import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileThresholdStore } from "../../src/adapters/embedded/file-thresholds.ts";
import { memoryLogger, silentLogger } from "../../src/log.ts";
import { registry } from "../../src/metrics.ts";
import { Readiness, type EngineProbe } from "./readiness.ts";

const opened: Readiness[] = [];
const readiness = (o = { intervalMs: 20, timeoutMs: 100 }, log = silentLogger) => {
  const r = new Readiness(log, o);
  opened.push(r);
  return r;
};
afterEach(() => {
  for (const r of opened.splice(0)) r.stop();
});

/** An engine whose answer the test sets: up, down with a reason, or hanging. */
function engine(engine: string, adapter = "test"): EngineProbe & { state: "up" | "down" | "hang"; pings: number } {
  const e = {
    engine,
    adapter,
    state: "up" as "up" | "down" | "hang",
    pings: 0,
    ping: () => {
      e.pings++;
      if (e.state === "up") return Promise.resolve();
      if (e.state === "down") return Promise.reject(new Error(`${engine} refused the connection`));
      return new Promise<void>(() => {});
    },
  };
  return e;
}

async function until(r: Readiness, ready: boolean, ms = 2000): Promise<string[]> {
  const deadline = Date.now() + ms;
  while (r.state().ready !== ready) {
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(r.state())} after ${ms} ms`);
    await Bun.sleep(5);
  }
  return r.state().waitingFor;
}

test("starting until the roles run; then ready once every engine has answered", async () => {
  const r = readiness();
  expect(r.state()).toEqual({ ready: false, waitingFor: ["starting: the roles are not running yet"] });
  const bus = engine("bus");
  const lake = engine("lake");
  r.watch([bus, lake]);
  expect(await until(r, true)).toEqual([]);
  expect(bus.pings).toBeGreaterThanOrEqual(1);
});

test("an engine that refuses is named with its reason; it is ready again once it answers", async () => {
  const log = memoryLogger();
  const r = readiness(undefined, log);
  const bus = engine("bus", "kafka");
  const warehouse = engine("warehouse", "postgres");
  r.watch([bus, warehouse]);
  await until(r, true);
  bus.state = "down";
  expect(await until(r, false)).toEqual(["bus (kafka): bus refused the connection"]);
  expect(log.text()).toContain("readiness: bus (kafka) does not answer: bus refused the connection");
  bus.state = "up";
  expect(await until(r, true)).toEqual([]);
  expect(log.text()).toContain("readiness: bus (kafka) answers again");
});

test("an engine that does not answer within the timeout is not ready, and is not pinged again meanwhile", async () => {
  const r = readiness({ intervalMs: 10, timeoutMs: 80 });
  const etcd = engine("thresholds", "etcd");
  r.watch([etcd]);
  await until(r, true);
  etcd.state = "hang";
  const t0 = Date.now();
  expect(await until(r, false)).toEqual(["thresholds (etcd): no answer within 80 ms"]);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(70);
  const pings = etcd.pings;
  await Bun.sleep(100);
  // One ping out at a time: a hung engine is not flooded.
  expect(etcd.pings).toBe(pings);
});

test("a ping that throws instead of rejecting counts as down", async () => {
  const r = readiness();
  r.watch([
    {
      engine: "lake",
      adapter: "odd",
      ping: () => {
        throw new Error("synchronous failure");
      },
    },
  ]);
  expect(r.state().waitingFor).toEqual(["lake (odd): first check under way"]);
  await Bun.sleep(5);
  expect(r.state().waitingFor).toEqual(["lake (odd): synchronous failure"]);
});

test("draining is never ready again, even with every engine answering", async () => {
  const r = readiness();
  r.watch([engine("bus")]);
  await until(r, true);
  r.drain("SIGTERM");
  expect(r.state()).toEqual({ ready: false, waitingFor: ["nothing: draining (SIGTERM), the process is stopping"] });
  await Bun.sleep(60);
  expect(r.state().ready).toBe(false);
});

test("a declared condition is waited for by name", async () => {
  const r = readiness();
  let caughtUp = false;
  r.require("alert feed catching up", () => caughtUp);
  r.watch([]);
  expect(r.state()).toEqual({ ready: false, waitingFor: ["alert feed catching up"] });
  caughtUp = true;
  expect(r.state()).toEqual({ ready: true, waitingFor: [] });
});

test("with a real adapter: the embedded threshold store's folder removed turns it not ready", async () => {
  const dir = mkdtempSync(join(tmpdir(), "acu-readiness-"));
  const store = FileThresholdStore.open(join(dir, "t", "thresholds.json"), 50);
  try {
    const r = readiness();
    r.watch([{ engine: "thresholds", adapter: store.engine, ping: () => store.ping() }]);
    await until(r, true);
    rmSync(join(dir, "t"), { recursive: true });
    const waiting = await until(r, false);
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toStartWith("thresholds (embedded): ENOENT");
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("acu_ready and acu_engine_up follow the state", async () => {
  const r = readiness();
  const bus = engine("bus", "kafka");
  r.watch([bus]);
  await until(r, true);
  await Bun.sleep(40);
  const text = await registry.metrics();
  expect(text).toMatch(/^acu_ready 1$/m);
  expect(text).toMatch(/^acu_engine_up\{engine="bus",adapter="kafka"\} 1$/m);
  bus.state = "down";
  await until(r, false);
  await Bun.sleep(40);
  const after = await registry.metrics();
  expect(after).toMatch(/^acu_ready 0$/m);
  expect(after).toMatch(/^acu_engine_up\{engine="bus",adapter="kafka"\} 0$/m);
});
