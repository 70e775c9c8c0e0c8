import { afterAll, expect, test } from "bun:test";
import { silentLogger } from "../../src/log.ts";
import { enableProcessMetrics, metrics } from "../../src/metrics.ts";
import { Readiness } from "./readiness.ts";
import { startOpsServer } from "./ops-server.ts";

enableProcessMetrics("0.0.0-test");
const up = true;
const readiness = new Readiness(silentLogger, { intervalMs: 20, timeoutMs: 100 });
const ops = startOpsServer({ port: 0, hostname: "127.0.0.1", readiness, log: silentLogger });
const url = `http://127.0.0.1:${ops.port}`;
afterAll(async () => {
  readiness.stop();
  await ops.stop();
});

test("/healthz answers while starting; /readyz says 503 and what it waits for, then 200", async () => {
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  const starting = await fetch(`${url}/readyz`);
  expect(starting.status).toBe(503);
  expect(await starting.json()).toEqual({ ready: false, waitingFor: ["starting: the roles are not running yet"] });
  readiness.watch([{ engine: "bus", adapter: "kafka", ping: async () => void (up || Promise.reject(new Error("no broker"))) }]);
  for (let i = 0; i < 100 && (await fetch(`${url}/readyz`)).status !== 200; i++) await Bun.sleep(10);
  const ready = await fetch(`${url}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toEqual({ ready: true, waitingFor: [] });
});

test("/metrics: Prometheus text with process metrics, build info and acu's own metrics, no token needed", async () => {
  metrics.reportToOrder.observe(0.042);
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/plain");
  const text = await res.text();
  const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(text)?.[1]);
  expect(value("process_resident_memory_bytes")).toBeGreaterThan(1_000_000);
  expect(value("process_cpu_seconds_total")).toBeGreaterThan(0);
  expect(value("nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
  // The version of the first caller in this test process (the registry is process-wide).
  expect(text).toMatch(
    new RegExp(`^acu_build_info\\{version="[^"]+",bun="${Bun.version.replace(/\./g, "\\.")}",platform="${process.platform}",arch="${process.arch}"\\} 1$`, "m"),
  );
  expect(text).toMatch(/^acu_report_to_order_seconds_bucket\{le="0\.05"\} [1-9]\d*$/m);
  expect(text).toMatch(/^acu_report_to_order_seconds_bucket\{le="0\.005"\} \d+$/m);
  expect(text).toMatch(/^acu_report_to_order_seconds_bucket\{le="60"\} [1-9]\d*$/m);
  expect(text).toContain("# TYPE acu_consumer_lag gauge");
});

test("other paths are a 404 naming what the ops port serves", async () => {
  const res = await fetch(`${url}/api/reports`, { method: "POST", body: "[]" });
  expect(res.status).toBe(404);
  expect(((await res.json()) as { error: string }).error).toContain("/healthz, /readyz, /metrics");
});
