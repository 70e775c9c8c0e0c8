import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { runSignal } from "../../modules/signal/index.ts";
import { deriveReportId } from "../../src/domain/report.ts";
import { regionOf } from "../../src/domain/regions.ts";
import { cleanup, eventually, operator, startAcu, tempDir, type AcuProcess } from "../support/acu.ts";
import { clusterEnv, isolatedRun } from "../support/cluster.ts";
import { readLake } from "../support/lake.ts";
import { recompute } from "../support/recompute.ts";

setDefaultTimeout(600_000);
const cluster = clusterEnv();

/**
 * Role by role on Kafka, etcd and PostgreSQL: separate OS processes — 2 × ingest, 3 × alert, 1 × sink,
 * 1 × analyzer, 1 × http — under 100,000 reports from `acu signal`. The alerts equal the set expected
 * from the reports and thresholds with no alertId twice; every report is in the lake once; analytics
 * equal a recomputation.
 */
describe.skipIf(!cluster)("role by role on the local cluster", () => {
  const dir = tempDir("roles");
  const procs: AcuProcess[] = [];
  let drop = async () => {};
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await drop();
    cleanup(dir);
  });

  test("2 ingest, 3 alert, 1 sink, 1 analyzer, 1 http: exact alerts, lake and analytics", async () => {
    const COUNT = Number(process.env.ACU_ROLES_COUNT ?? 100_000);
    const iso = await isolatedRun(cluster!, "roles");
    drop = iso.drop;
    const env = { ...iso.env, ACU_SINK_FLUSH_MS: "2000", ACU_ANALYZER_SCHEDULE: "*/5 * * * * *" };
    const start = (role: string) => startAcu({ dataDir: dir, env, args: [`--role=${role}`] }).then((p) => (procs.push(p), p));
    const http = await start("http");
    const [ingestA, ingestB] = await Promise.all([start("ingest"), start("ingest")]);
    await Promise.all([start("alert"), start("alert"), start("alert"), start("sink"), start("analyzer")]);

    for (const [id, t] of [["c00.ex00.my_putchar", 70], ["bsq", 30]] as const) {
      expect((await fetch(`${http.url}/api/thresholds/${id}`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: t }) })).status).toBe(200);
    }
    const snap = (await (await fetch(`${http.url}/api/thresholds`)).json()) as { default: number; thresholds: Record<string, number> };
    const thresholdOf = (ex: string) => snap.thresholds[ex] ?? snap.default;

    const streamed: string[] = [];
    const ws = new WebSocket(`${http.url.replace("http", "ws")}/api/alerts/stream`);
    await new Promise<void>((resolve) => {
      ws.onmessage = (ev) => {
        const m = JSON.parse(String(ev.data));
        if (m.type === "hello") resolve();
        if (m.type === "alert") streamed.push(m.alert.alertId);
      };
    });

    const accepted: Array<{ studentId: string; exerciseId: string; score: number; latitude: number; longitude: number; timestamp: number }> = [];
    const half = COUNT / 2;
    const results = await Promise.all([
      runSignal({ target: ingestA.url, rate: 2500, count: half, seed: 21, onAccepted: (b) => accepted.push(...b) }, () => {}),
      runSignal({ target: ingestB.url, rate: 2500, count: half, seed: 22, onAccepted: (b) => accepted.push(...b) }, () => {}),
    ]);
    expect(results.map((r) => r.rejected)).toEqual([0, 0]);
    const reports = accepted.map((r) => ({ ...r, reportId: deriveReportId(r), region: regionOf(r.latitude, r.longitude) }));
    expect(new Set(reports.map((r) => r.reportId)).size).toBe(COUNT);
    const expected = new Set(reports.filter((r) => r.score < thresholdOf(r.exerciseId)).map((r) => `alert-${r.reportId}`));

    await eventually("every alert on the stream", async () => streamed.length >= expected.size, 180_000, 500);
    await Bun.sleep(1000);
    ws.close();
    expect(streamed.length).toBe(expected.size);
    expect(new Set(streamed)).toEqual(expected);

    const lake = await eventually("every report in the lake", async () => {
      const l = await readLake(dir, "reports");
      return l.rows.length >= COUNT ? l : null;
    }, 180_000, 1000);
    expect(lake.rows.length).toBe(COUNT);
    expect(new Set(lake.rows.map((r) => r.reportId as string))).toEqual(new Set(reports.map((r) => r.reportId)));
    const deployments = await eventually("every deployment report", async () => {
      const d = await readLake(dir, "deployments");
      return d.rows.length >= expected.size ? d : null;
    }, 120_000, 1000);
    expect(deployments.rows.length).toBe(expected.size);

    // The analyzer process runs on its schedule; wait until it has counted the whole lake.
    const want = recompute(reports, thresholdOf, 0.1);
    const ex = await eventually("the analyzer to count every report", async () => {
      const body = (await (await fetch(`${http.url}/api/analytics/exercises`)).json()) as { exercises: Array<{ exerciseId: string; reports: number; averageScore: number }> };
      return body.exercises.reduce((a, e) => a + e.reports, 0) === COUNT ? body : null;
    }, 180_000, 1000);
    for (const e of ex.exercises) {
      const w = want.exercises.get(e.exerciseId)!;
      expect(e.reports).toBe(w.reports);
      expect(Math.abs(e.averageScore - w.sum / w.reports)).toBeLessThan(1e-9);
    }
    const rg = (await (await fetch(`${http.url}/api/analytics/regions?exerciseId=bsq`)).json()) as { regions: Array<{ region: string; reports: number; failures: number }> };
    const wantRegions = want.regions("bsq");
    for (const r of rg.regions) expect([r.region, r.reports, r.failures]).toEqual([r.region, wantRegions.get(r.region)!.reports, wantRegions.get(r.region)!.failures]);
    const h = (await (await fetch(`${http.url}/api/analytics/hotspots?exerciseId=bsq&limit=10`)).json()) as { cells: Array<{ failures: number }> };
    expect(h.cells.map((c) => c.failures)).toEqual(want.hotspots("bsq").slice(0, 10).map((c) => c.failures));
    console.log(`role-by-role: ${COUNT} reports through 2 ingest, 3 alert, 1 sink, 1 analyzer, 1 http; ${expected.size} alerts; ${lake.files.length} lake files`);
  });
});
