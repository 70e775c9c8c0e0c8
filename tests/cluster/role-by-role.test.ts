import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { runSignal } from "../../modules/signal/index.ts";
import { deriveReportId } from "../../src/domain/report.ts";
import { regionOf } from "../../src/domain/region-index.ts";
import { cleanup, eventually, operator, startAcu, tempDir, TOKENS, viewer, type AcuProcess } from "../support/acu.ts";
import { clusterEnv, isolatedRun } from "../support/cluster.ts";
import { readLakeFrom } from "../support/lake.ts";
import { WebHdfsLake } from "../../src/adapters/hdfs/webhdfs-lake.ts";
import type { Lake } from "../../src/ports/lake.ts";
import { LocalLake } from "../../src/adapters/embedded/local-lake.ts";
import { join } from "node:path";
import { recompute } from "../support/recompute.ts";
import { alertIdFor } from "../../src/domain/deployment-order.ts";
import { sparkParquetCount } from "../support/spark-count.ts";

setDefaultTimeout(600_000);
const cluster = clusterEnv();

/**
 * Role by role on Kafka, etcd and PostgreSQL: separate OS processes — 2 × ingest, 3 × alert, 1 × sink,
 * 1 × analyzer, 1 × http — under 100,000 reports from `acu signal`. The alerts equal the set expected
 * from the reports and thresholds with no alertId twice; every report is in the lake once; analytics
 * equal a recomputation.
 */
const hdfs = process.env.ACU_HDFS_URL && process.env.ACU_HDFS_NAMENODE && process.env.ACU_SPARK_MASTER ? process.env : null;

describe.skipIf(!cluster)("role by role on the local cluster", () => {
  const dir = tempDir("roles");
  const procs: AcuProcess[] = [];
  const drops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    for (const d of drops) await d();
    cleanup(dir);
  });

  test("2 ingest, 3 alert, 1 sink, 1 analyzer, 1 http: exact alerts, lake and analytics", () =>
    roleByRole({ name: "roles", count: Number(process.env.ACU_ROLES_COUNT ?? 100_000), lake: () => new LocalLake(join(dir, "roles", "lake")), env: {} }));

  test.skipIf(!hdfs)("the same with the lake on HDFS and analysis on Spark; the lake reads with plain spark.read.parquet", async () => {
    const root = `/acu-test/roles-${Date.now().toString(36)}`;
    const env = {
      ACU_HDFS_URL: hdfs!.ACU_HDFS_URL!,
      ACU_HDFS_NAMENODE: hdfs!.ACU_HDFS_NAMENODE!,
      ACU_HDFS_ROOT: root,
      ACU_SPARK_MASTER: hdfs!.ACU_SPARK_MASTER!,
      ACU_SPARK_HOME: hdfs!.ACU_SPARK_HOME!,
      ACU_SPARK_PYTHON: hdfs!.ACU_SPARK_PYTHON!,
      ACU_SPARK_JDBC_JAR: hdfs!.ACU_SPARK_JDBC_JAR!,
    };
    const count = Number(process.env.ACU_ROLES_HDFS_COUNT ?? 20_000);
    await roleByRole({
      name: "rolehdfs",
      count,
      lake: () => WebHdfsLake.open({ url: env.ACU_HDFS_URL, root, namenode: env.ACU_HDFS_NAMENODE }),
      env,
      engine: "spark",
    });
    // Any Spark user can read the lake: a plain spark.read.parquet of the sink's folder.
    expect(sparkParquetCount(`${env.ACU_HDFS_NAMENODE}${root}/reports`, { ...process.env, ...env })).toBe(count);
  });

  async function roleByRole(o: { name: string; count: number; lake: () => Lake | Promise<Lake>; env: Record<string, string>; engine?: string }) {
    const COUNT = o.count;
    const iso = await isolatedRun(cluster!, o.name);
    drops.push(iso.drop);
    const env = { ...iso.env, ...o.env, ACU_SINK_FLUSH_MS: "2000", ACU_ANALYZER_SCHEDULE: "*/5 * * * * *" };
    const start = (role: string) =>
      startAcu({ dataDir: join(dir, o.name), env, args: [`--role=${role}`] }).then((p) => {
        procs.push(p);
        return p;
      });
    const http = await start("http");
    const [ingestA, ingestB] = await Promise.all([start("ingest"), start("ingest")]);
    await Promise.all([start("alert"), start("alert"), start("alert"), start("sink"), start("analyzer")]);

    for (const [id, t] of [
      ["c00.ex00.my_putchar", 70],
      ["bsq", 30],
    ] as const) {
      expect((await fetch(`${http.url}/api/thresholds/${id}`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: t }) })).status).toBe(200);
    }
    const snap = (await (await fetch(`${http.url}/api/thresholds`, { headers: viewer })).json()) as { default: number; thresholds: Record<string, number> };
    const thresholdOf = (ex: string) => snap.thresholds[ex] ?? snap.default;

    const streamed: string[] = [];
    const ws = new WebSocket(`${http.url.replace("http", "ws")}/api/alerts/stream`, [`acu.bearer.${TOKENS.viewer}`]);
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
      runSignal({ target: ingestA.url, rate: 2500, count: half, seed: 21, token: TOKENS.ingest, onAccepted: (b) => accepted.push(...b) }, () => {}),
      runSignal({ target: ingestB.url, rate: 2500, count: half, seed: 22, token: TOKENS.ingest, onAccepted: (b) => accepted.push(...b) }, () => {}),
    ]);
    expect(results.map((r) => r.rejected)).toEqual([0, 0]);
    const reports = accepted.map((r) => ({ ...r, reportId: deriveReportId(r), region: regionOf(r.latitude, r.longitude) }));
    expect(new Set(reports.map((r) => r.reportId)).size).toBe(COUNT);
    const expected = new Set(reports.filter((r) => r.score < thresholdOf(r.exerciseId)).map((r) => alertIdFor(r.studentId, r.reportId)));

    await eventually("every alert on the stream", async () => streamed.length >= expected.size, 180_000, 500);
    await Bun.sleep(1000);
    ws.close();
    expect(streamed.length).toBe(expected.size);
    expect(new Set(streamed)).toEqual(expected);

    const store = await o.lake();
    const lake = await eventually(
      "every report in the lake",
      async () => {
        const l = await readLakeFrom(store, "reports");
        return l.rows.length >= COUNT ? l : null;
      },
      180_000,
      1000,
    );
    expect(lake.rows.length).toBe(COUNT);
    expect(new Set(lake.rows.map((r) => r.reportId as string))).toEqual(new Set(reports.map((r) => r.reportId)));
    const deployments = await eventually(
      "every deployment report",
      async () => {
        const d = await readLakeFrom(store, "deployments");
        return d.rows.length >= expected.size ? d : null;
      },
      120_000,
      1000,
    );
    expect(deployments.rows.length).toBe(expected.size);

    // The analyzer process runs on its schedule; wait until it has counted the whole lake.
    const want = recompute(reports, thresholdOf, 0.1);
    const ex = await eventually(
      "the analyzer to count every report",
      async () => {
        const body = (await (await fetch(`${http.url}/api/analytics/exercises`, { headers: viewer })).json()) as {
          exercises: Array<{ exerciseId: string; reports: number; averageScore: number }>;
        };
        return body.exercises.reduce((a, e) => a + e.reports, 0) === COUNT ? body : null;
      },
      180_000,
      1000,
    );
    for (const e of ex.exercises) {
      const w = want.exercises.get(e.exerciseId)!;
      expect(e.reports).toBe(w.reports);
      expect(Math.abs(e.averageScore - w.sum / w.reports)).toBeLessThan(1e-9);
    }
    const rg = (await (await fetch(`${http.url}/api/analytics/regions?exerciseId=bsq`, { headers: viewer })).json()) as {
      regions: Array<{ region: string; reports: number; failures: number }>;
    };
    const wantRegions = want.regions("bsq");
    expect(rg.regions.map((r) => r.region).sort()).toEqual([...wantRegions.keys()].sort());
    for (const r of rg.regions)
      expect([r.region, r.reports, r.failures]).toEqual([r.region, wantRegions.get(r.region)!.reports, wantRegions.get(r.region)!.failures]);
    const h = (await (await fetch(`${http.url}/api/analytics/hotspots?exerciseId=bsq&limit=10`, { headers: viewer })).json()) as {
      cells: Array<{ failures: number }>;
    };
    expect(h.cells.map((c) => c.failures)).toEqual(
      want
        .hotspots("bsq")
        .slice(0, 10)
        .map((c) => c.failures),
    );
    if (o.engine) {
      const runs = (await (await fetch(`${http.url}/api/analytics/runs?limit=50`, { headers: viewer })).json()) as {
        runs: Array<{ engine: string; outcome: string; rows: number; durationMs: number }>;
      };
      const ok = runs.runs.filter((r) => r.outcome === "succeeded" && r.rows > 0);
      expect(ok.length).toBeGreaterThan(0);
      expect(ok.every((r) => r.engine === o.engine)).toBe(true);
      console.log(
        `${o.name}: ${ok.length} ${o.engine} run(s) counted ${ok.reduce((a, r) => a + r.rows, 0)} reports, ${ok.map((r) => r.durationMs).join("/")} ms`,
      );
    }
    console.log(`${o.name}: ${COUNT} reports through 2 ingest, 3 alert, 1 sink, 1 analyzer, 1 http; ${expected.size} alerts; ${lake.files.length} lake files`);
    for (const p of procs.splice(0)) await p.stop();
  }
});
