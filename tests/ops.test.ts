import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { connect } from "node:net";
import { join } from "node:path";
import { cleanup, eventually, freePort, ingest, ROOT, startAcu, tempDir, type AcuProcess } from "./support/acu.ts";
import { clusterEnv, isolatedRun } from "./support/cluster.ts";

/**
 * The ops port (--ops-port) of processes with no http port (alert, sink, analyzer) and beside one: /healthz,
 * /readyz and /metrics answer, with process metrics, build info, each engine's state and the role's lag.
 * The Kafka-stopped case (/readyz 503 within 10 s) is in the fault suite (tests/faults/kafka-brokers.ts),
 * on a cluster of its own: the shared one must not be stopped.
 */
setDefaultTimeout(120_000);
const dir = tempDir("ops");
const procs: AcuProcess[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop(9)));
  cleanup(dir);
});

/** A sample of a Prometheus text exposition: `name{labels}` → value (labels as written). */
export async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

async function startWithOps(name: string, role: string, env: Record<string, string> = {}): Promise<AcuProcess & { ops: string }> {
  const port = freePort();
  const p = await startAcu({ dataDir: join(dir, name), env, args: [`--role=${role}`, "--ops-port", String(port)] });
  procs.push(p);
  return Object.assign(p, { ops: `http://127.0.0.1:${port}` });
}

/** The ops port answers like a probe and Prometheus expect; returns the scraped sample once ready. */
async function checkOps(p: { ops: string }, engines: Record<string, string>, lagGroup: string): Promise<Map<string, number>> {
  const health = await fetch(`${p.ops}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: "ok" });
  const ready = await eventually(
    "/readyz 200",
    async () => {
      const r = await fetch(`${p.ops}/readyz`);
      return r.status === 200 ? r.json() : null;
    },
    20_000,
    100,
  );
  expect(ready).toEqual({ ready: true, waitingFor: [] });
  const m = await eventually(
    `acu_consumer_lag{group="${lagGroup}"}`,
    async () => {
      const s = await scrape(p.ops);
      return s.has(`acu_consumer_lag{group="${lagGroup}"}`) ? s : null;
    },
    30_000,
    250,
  );
  // Idle (nothing sent yet): nothing left to handle.
  expect(m.get(`acu_consumer_lag{group="${lagGroup}"}`)).toBe(0);
  expect(m.get("process_resident_memory_bytes")).toBeGreaterThan(10_000_000);
  expect(m.get("process_cpu_seconds_total")).toBeGreaterThan(0);
  expect(m.get("process_start_time_seconds")).toBeGreaterThan(Date.now() / 1000 - 600);
  expect(m.get("nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
  const build = [...m].find(([k]) => k.startsWith("acu_build_info{"));
  expect(build?.[0]).toMatch(/^acu_build_info\{version="\d+\.\d+\.\d+[^"]*",bun="\d+\.\d+\.\d+[^"]*",platform="[a-z0-9]+",arch="[a-z0-9]+"\}$/);
  expect(build?.[1]).toBe(1);
  expect(m.get("acu_ready")).toBe(1);
  // Exactly the engines the role uses, each answering.
  const up = [...m].filter(([k]) => k.startsWith("acu_engine_up{"));
  expect(Object.fromEntries(up.map(([k, v]) => [/engine="(\w+)",adapter="(\w+)"/.exec(k)!.slice(1).join(" "), v]))).toEqual(
    Object.fromEntries(Object.entries(engines).map(([e, a]) => [`${e} ${a}`, 1])),
  );
  expect((await fetch(`${p.ops}/api/thresholds`)).status).toBe(404);
  return m;
}

test("--role=alert, sink, analyzer with --ops-port, embedded engines: /healthz, /readyz and /metrics answer", async () => {
  const [alert, sink, analyzer] = await Promise.all([startWithOps("alert", "alert"), startWithOps("sink", "sink"), startWithOps("analyzer", "analyzer")]);
  await checkOps(alert, { bus: "embedded", thresholds: "embedded" }, "acu-alert");
  await checkOps(sink, { bus: "embedded", lake: "local" }, "acu-sink");
  await checkOps(analyzer, { lake: "local", warehouse: "pglite" }, "acu-analyzer");
  for (const p of [alert, sink, analyzer]) expect(p.output()).toMatch(/ops: listening on http:\/\/127\.0\.0\.1:\d+ \(\/healthz, \/readyz, \/metrics\)/);
});

test("all roles with --ops-port: both ports answer; an order raised shows in acu_report_to_order_seconds", async () => {
  const all = await startWithOps("all", "all");
  const m0 = await checkOps(
    all,
    { bus: "embedded", thresholds: "embedded", tokens: "embedded", dispatch: "embedded", lake: "local", warehouse: "pglite" },
    "acu-http-feed",
  );
  expect((await fetch(`${all.url}/readyz`)).status).toBe(200);
  const before = m0.get("acu_report_to_order_seconds_count") ?? 0;
  const reports = Array.from({ length: 5 }, (_, i) => ({
    studentId: `ops-${i}`,
    exerciseId: "ex.ops",
    score: 3,
    latitude: 48.85,
    longitude: 2.35,
    timestamp: Date.now() - 200,
  }));
  expect((await fetch(`${all.url}/api/reports`, { method: "POST", headers: ingest, body: JSON.stringify(reports) })).status).toBe(202);
  const m = await eventually(
    "5 orders observed",
    async () => {
      const s = await scrape(all.ops);
      return (s.get("acu_report_to_order_seconds_count") ?? 0) >= before + 5 ? s : null;
    },
    30_000,
    200,
  );
  expect(m.get("acu_report_to_order_seconds_count")! - before).toBe(5);
  // Each observed at least the 200 ms the reports were old, and well under a minute here.
  const mean = (m.get("acu_report_to_order_seconds_sum")! - (m0.get("acu_report_to_order_seconds_sum") ?? 0)) / 5;
  expect(mean).toBeGreaterThanOrEqual(0.2);
  expect(mean).toBeLessThan(30);
  expect(m.get('acu_report_to_order_seconds_bucket{le="60"}')).toBe(m.get("acu_report_to_order_seconds_count"));
  expect(m.get("acu_alerts_raised_total")).toBeGreaterThanOrEqual(5);
  // The http port serves the same metrics (one registry per process).
  expect((await scrape(all.url)).get("acu_report_to_order_seconds_count")).toBe(m.get("acu_report_to_order_seconds_count"));
});

test("SIGTERM: /readyz turns 503 (draining) at once while an in-flight request finishes, /healthz still 200", async () => {
  const p = await startWithOps("drain", "ingest,alert");
  await eventually("ready", async () => (await fetch(`${p.ops}/readyz`)).status === 200, 20_000, 50);
  // A request still being received keeps the http server (and so the shutdown) waiting for it.
  const body = JSON.stringify([{ studentId: "drain", exerciseId: "ex.drain", score: 80, latitude: 48.85, longitude: 2.35, timestamp: Date.now() }]);
  const sock = connect(p.port, "127.0.0.1");
  await new Promise<void>((r) => sock.once("connect", () => r()));
  let answer = "";
  sock.on("data", (d) => (answer += d.toString()));
  sock.write(
    `POST /api/reports HTTP/1.1\r\nHost: x\r\nAuthorization: ${ingest.authorization}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
  );
  await Bun.sleep(200);
  p.proc.kill("SIGTERM");
  const draining = await eventually(
    "/readyz 503 draining",
    async () => {
      const r = await fetch(`${p.ops}/readyz`);
      return r.status === 503 ? ((await r.json()) as { waitingFor: string[] }) : null;
    },
    5000,
    10,
  );
  expect(draining.waitingFor).toContain("nothing: draining (SIGTERM), the process is stopping");
  expect((await fetch(`${p.ops}/healthz`)).status).toBe(200);
  sock.write(body.slice(10));
  await eventually("the in-flight request answered", async () => answer.startsWith("HTTP/1.1 202"), 10_000, 20);
  sock.end();
  expect(await p.proc.exited).toBe(0);
});

test("acu healthcheck exits 0 while the process is ready, 1 once it is gone", async () => {
  const p = await startWithOps("healthcheck", "alert");
  await eventually("ready", async () => (await fetch(`${p.ops}/readyz`)).status === 200, 20_000, 50);
  const opsPort = new URL(p.ops).port;
  const run = () =>
    Bun.spawnSync({
      cmd: [process.execPath, "run", join(ROOT, "src/main.ts"), "healthcheck"],
      env: { ...process.env, ACU_OPS_PORT: opsPort, ACU_DATA_DIR: p.dataDir },
      stdout: "pipe",
      stderr: "pipe",
    });
  const ok = run();
  expect({ code: ok.exitCode, out: ok.stdout.toString() }).toEqual({
    code: 0,
    out: `http://127.0.0.1:${opsPort}/readyz: 200 {"ready":true,"waitingFor":[]}\n`,
  });
  expect(await p.stop()).toBe(0);
  const gone = run();
  expect(gone.exitCode).toBe(1);
  expect(gone.stderr.toString()).toContain(`http://127.0.0.1:${opsPort}/readyz: no answer`);
});

const cluster = clusterEnv();
const hdfsUrl = process.env.ACU_HDFS_URL;

describe.skipIf(!cluster || !hdfsUrl)("on the shared cluster", () => {
  const drops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const d of drops) await d();
  });

  test("--role=alert, sink, analyzer with --ops-port on Kafka, etcd, HDFS, PostgreSQL: ready, each engine up", async () => {
    const iso = await isolatedRun(cluster!, "ops");
    drops.push(iso.drop);
    const env = { ...iso.env, ACU_HDFS_URL: hdfsUrl!, ACU_HDFS_ROOT: `/acu-test/ops-${Date.now().toString(36)}` };
    const [alert, sink, analyzer] = await Promise.all([
      startWithOps("c-alert", "alert", env),
      startWithOps("c-sink", "sink", env),
      startWithOps("c-analyzer", "analyzer", env),
    ]);
    await checkOps(alert, { bus: "kafka", thresholds: "etcd" }, "acu-alert");
    await checkOps(sink, { bus: "kafka", lake: "hdfs" }, "acu-sink");
    await checkOps(analyzer, { lake: "hdfs", warehouse: "postgres" }, "acu-analyzer");
  });
});
