import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Logger } from "../../log.ts";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import {
  exerciseStats,
  hotspots,
  recentRuns,
  regionStats,
  responseTimes,
  startAnalyzer,
  type Analyzer,
  type RunSummary,
} from "../../../modules/analyzer/index.ts";
import type { IncidentEvent } from "../../domain/incident-event.ts";
import { lakePath } from "../../domain/lake-layout.ts";
import type { ThresholdSnapshot } from "../../domain/threshold.ts";
import { DEFAULT_TREND_PERIOD_SECONDS, periodStart } from "../../domain/trend-period.ts";
import { encodeIncidentEvents, encodeReports, lakeIncidentEvent, type LakeReport } from "../../formats/parquet.ts";
import type { AnalyticsEngine } from "../../ports/analytics-engine.ts";
import type { Lake, LakeFile } from "../../ports/lake.ts";
import type { Warehouse } from "../../ports/warehouse.ts";
import { migrate } from "../../warehouse/migrate.ts";
import { ArrowAnalyticsEngine } from "../embedded/arrow-engine.ts";
import { LocalLake } from "../embedded/local-lake.ts";
import { WebHdfsLake } from "../hdfs/webhdfs-lake.ts";
import { PostgresWarehouse } from "../postgres/postgres-warehouse.ts";
import { JDBC_PASSWORD_ENV, jdbcTarget, SparkAnalyticsEngine } from "./spark-engine.ts";
import { foreignLakePaths, rng } from "../../../tests/support/lake-fixture.ts";
import { incidentHistories } from "../../../tests/support/incident-fixture.ts";
import { recomputeResponseTimes } from "../../../tests/support/recompute.ts";

/**
 * The Spark engine against the embedded one: the same lake analysed end to end into two PostgreSQL
 * databases, one with each engine, gives the same cumulative tables and the same answers. Needs the local
 * cluster's Spark and PostgreSQL: `scripts/cluster up --only postgres,spark` and
 * `eval "$(scripts/cluster env --only postgres,spark)"`.
 */
const MASTER = process.env.ACU_SPARK_MASTER ?? "";
const DB_URL = process.env.ACU_DATABASE_URL ?? "";
const SPARK_HOME = process.env.ACU_SPARK_HOME ?? "";
const JDBC_JAR = process.env.ACU_SPARK_JDBC_JAR ?? "";
const PYTHON = process.env.ACU_SPARK_PYTHON || undefined;
const HDFS_URL = process.env.ACU_HDFS_URL ?? "";
const HDFS_NAMENODE = process.env.ACU_HDFS_NAMENODE ?? "";
const ENABLED = Boolean(MASTER && DB_URL && SPARK_HOME && JDBC_JAR);
if (!ENABLED)
  console.log(
    "spark-engine.test.ts: end-to-end tests skipped, ACU_SPARK_MASTER/ACU_SPARK_HOME/ACU_SPARK_JDBC_JAR and ACU_DATABASE_URL are not all set (scripts/cluster env)",
  );

/** A Spark run takes 15–60 s on two busy cores; each test makes a few. */
const TIMEOUT_MS = 15 * 60_000;
const CELL = 0.1;

describe("SparkAnalyticsEngine, no cluster needed", () => {
  test("splits a postgres URL into a JDBC URL, a user and a password", () => {
    expect(jdbcTarget("postgres://acu:s%40cr%3At@127.0.0.1:15432/acu")).toEqual({
      url: "jdbc:postgresql://127.0.0.1:15432/acu",
      user: "acu",
      password: "s@cr:t",
    });
    expect(jdbcTarget("postgresql://u:p@db.example:5433/my%20db?sslmode=require")).toEqual({
      url: "jdbc:postgresql://db.example:5433/my%20db?sslmode=require",
      user: "u",
      password: "p",
    });
    expect(jdbcTarget("postgres://u@h/d").url).toBe("jdbc:postgresql://h:5432/d");
    expect(() => jdbcTarget("mysql://u:p@h/d")).toThrow(/postgres:\/\//);
    expect(() => jdbcTarget("postgres://h/d")).toThrow(/no user/);
  });

  test("the spark-submit command line carries no password", () => {
    const e = new SparkAnalyticsEngine({
      lake: new LocalLake("/nonexistent"),
      master: "spark://127.0.0.1:17077",
      sparkHome: "/opt/spark",
      jdbcJar: "/opt/pg.jar",
      databaseUrl: "postgres://acu:very-secret@127.0.0.1:15432/acu",
    });
    const cmd = e.commandLine(
      { runId: "run-1", files: ["reports/x.parquet"], cellSizeDeg: 0.1, trendPeriodSeconds: 900 },
      "/tmp/files.txt",
      "/tmp/result.json",
    );
    expect(cmd[0]).toBe("/opt/spark/bin/spark-submit");
    expect(cmd.join(" ")).not.toContain("very-secret");
    expect(cmd).toContain("jdbc:postgresql://127.0.0.1:15432/acu");
    expect(cmd.slice(cmd.indexOf("--cell-size"), cmd.indexOf("--cell-size") + 2)).toEqual(["--cell-size", "0.1"]);
    expect(cmd.slice(cmd.indexOf("--trend-period"), cmd.indexOf("--trend-period") + 2)).toEqual(["--trend-period", "900"]);
    expect(JDBC_PASSWORD_ENV).toBe("ACU_SPARK_JDBC_PASSWORD");
    expect(cmd).not.toContain("--incident-files-from");
    const withIncidents = e.commandLine(
      { runId: "run-1", files: [], incidentFiles: ["incidents/x.parquet"], cellSizeDeg: 0.1, trendPeriodSeconds: 3600 },
      "/tmp/files.txt",
      "/tmp/result.json",
      "/tmp/incidents.txt",
    );
    expect(withIncidents.slice(withIncidents.indexOf("--incident-files-from"), withIncidents.indexOf("--incident-files-from") + 2)).toEqual([
      "--incident-files-from",
      "/tmp/incidents.txt",
    ]);
    expect(withIncidents.slice(withIncidents.indexOf("--trend-period"), withIncidents.indexOf("--trend-period") + 2)).toEqual(["--trend-period", "3600"]);
  });

  test("no spark-submit where sparkHome says: the run fails with the path it tried", async () => {
    const e = new SparkAnalyticsEngine({
      lake: new LocalLake("/nonexistent"),
      master: "local[1]",
      sparkHome: "/nonexistent/spark",
      jdbcJar: "/x.jar",
      databaseUrl: "postgres://u:p@h/d",
    });
    expect(e.engine).toBe("spark");
    await expect(e.computePartials({ runId: "run-1", files: ["reports/x.parquet"], cellSizeDeg: 0.1, trendPeriodSeconds: 900 })).rejects.toThrow(
      /cannot run \/nonexistent\/spark\/bin\/spark-submit/,
    );
    await expect(e.computePartials({ runId: "run-1", files: [], cellSizeDeg: 0, trendPeriodSeconds: 900 })).rejects.toThrow(/cell size/);
    // Not whole minutes, not dividing an hour, too long, not a number: refused before spark-submit is tried.
    for (const trendPeriodSeconds of [0, 90.5, 61, 420, 7200, Number.NaN])
      await expect(e.computePartials({ runId: "run-1", files: ["reports/x.parquet"], cellSizeDeg: 0.1, trendPeriodSeconds })).rejects.toThrow(/trend period/);
  });
});

// ---- fixtures ---------------------------------------------------------------------------------------

const REGIONS = ["Bretagne", "Île-de-France", "Provence-Alpes-Côte d'Azur", "Occitanie", "unknown"];
/** Where the random reports' timestamps start: a period boundary whatever the period (it divides an hour). */
const T0 = Date.UTC(2026, 10, 27, 8);
/** They spread over this many hours: many trend periods, at milliseconds that are rarely a boundary. */
const SPREAD_HOURS = 6;
/** The trend period of the HDFS test's analyzers (the others use the default): the engine must pass it on. */
const HDFS_TREND_PERIOD = 300;

function report(i: number, fields: Partial<LakeReport>): LakeReport {
  return {
    reportId: `edge-${i}`,
    studentId: `s${i}`,
    exerciseId: "ex0",
    score: 50,
    latitude: 48.1,
    longitude: -1.68,
    timestamp: T0 + i,
    region: "Bretagne",
    partition: 0,
    offset: 0,
    ...fields,
  };
}

/**
 * Reports clustered around a few places (west of Greenwich too, and south of the equator), random scores,
 * timestamps spread over SPREAD_HOURS hours (without drawing from the random sequence).
 */
function reports(n: number, seed: number): LakeReport[] {
  const r = rng(seed);
  const spots = [
    [48.39, -4.49],
    [48.85, 2.35],
    [43.3, 5.37],
    [-33.9, 151.2],
    [40.7, -74.0],
  ] as const;
  return Array.from({ length: n }, (_, i) => {
    const [lat, lon] = spots[Math.floor(r() * spots.length)]!;
    return report(i, {
      reportId: `r${seed}-${i}`,
      studentId: `s${i % 97}`,
      exerciseId: `ex${Math.floor(r() * 5)}`,
      score: Math.round(r() * 100_000) / 1000,
      latitude: lat + (r() - 0.5) * 0.8,
      longitude: lon + (r() - 0.5) * 0.8,
      region: REGIONS[Math.floor(r() * REGIONS.length)]!,
      timestamp: T0 + (((i + seed * 1009) * 7_919_003) % (SPREAD_HOURS * 3_600_000)),
    });
  });
}

/** Period boundaries of the trend tables, in region TREND_EDGE_REGION: each row's period start for any period dividing 15 minutes. */
const TREND_EDGE_REGION = "Guyane";
const BOUNDARY = Date.UTC(2026, 10, 27, 9);
const TREND_EDGES: Array<{ timestamp: number; periodStart: (period: number) => number }> = [
  { timestamp: BOUNDARY - 1, periodStart: (p) => BOUNDARY / 1000 - p }, // just before: the period before
  { timestamp: BOUNDARY, periodStart: () => BOUNDARY / 1000 }, // exactly at: the period it starts
  { timestamp: BOUNDARY + 1, periodStart: () => BOUNDARY / 1000 },
  { timestamp: BOUNDARY + 59_999, periodStart: () => BOUNDARY / 1000 },
  { timestamp: -1, periodStart: (p) => -p }, // before 1970: floor, not truncation
  { timestamp: -900_000, periodStart: () => -900 },
  { timestamp: -900_001, periodStart: (p) => -900 - p },
  { timestamp: 0, periodStart: () => 0 },
];

/** Bucket and cell boundaries, clamping, trend period boundaries, and rows both engines leave out (non-finite values). */
function edgeReports(): LakeReport[] {
  const rows: Array<Partial<LakeReport>> = [
    { score: 0 },
    { score: 100 },
    { score: 99.999 },
    { score: 99.99999999999999 },
    { score: 49.99999999 },
    { score: 50 },
    { score: 1e-300 },
    { score: -0 },
    { score: -3.5 }, // clamped to bucket 0
    { score: 100.5 }, // clamped to bucket 100
    { score: 1e300 },
    { latitude: 48.3, longitude: -0.3 }, // 48.3 / 0.1 = 482.99999999999994: floor 482, as in IEEE division
    { latitude: 0, longitude: -0 },
    { latitude: -0.05, longitude: -0.1 },
    { latitude: -90, longitude: -180 },
    { latitude: 90, longitude: 180 },
    { latitude: -12.3456, longitude: -77.0428, region: "unknown" },
    { region: "unknown", exerciseId: "ex-ünïcode" },
    { region: "Provence-Alpes-Côte d'Azur", score: 12.5 },
    ...TREND_EDGES.map(({ timestamp }, i) => ({ region: TREND_EDGE_REGION, timestamp, score: 10 * i + 0.5 })),
    { score: Number.NaN },
    { latitude: Number.POSITIVE_INFINITY },
    { longitude: Number.NEGATIVE_INFINITY },
  ];
  return rows.map((f, i) => report(i, f));
}

const snap = (defaultThreshold: number, thresholds: Record<string, number> = {}): ThresholdSnapshot => ({ defaultThreshold, thresholds, revision: 1 });
const SNAPSHOTS = [snap(50), snap(30, { ex1: 70, ex3: 0 }), snap(100, { ex2: 10 }), snap(0)];
const EXERCISES = ["ex0", "ex1", "ex2", "ex3", "ex4", "ex-ünïcode", "nobody"];

/** The cumulative tables, in key order (keys are "C"-collated: the same order on every server). */
async function tables(w: Warehouse) {
  return {
    exercises: await w.query(`SELECT exercise_id, reports::float8 AS reports, score_sum FROM exercise_totals ORDER BY exercise_id`),
    cells: await w.query(
      `SELECT exercise_id, cell_y, cell_x, bucket, reports::float8 AS reports FROM cell_histogram ORDER BY exercise_id, cell_y, cell_x, bucket`,
    ),
    regions: await w.query(
      `SELECT exercise_id, region, bucket, reports::float8 AS reports, score_sum FROM region_histogram ORDER BY exercise_id, region, bucket`,
    ),
    trends: await w.query(
      `SELECT exercise_id, region, period_start::float8 AS period_start, bucket, reports::float8 AS reports, score_sum
       FROM trend_histogram ORDER BY exercise_id, region, period_start, bucket`,
    ),
    cellTrends: await w.query(
      `SELECT exercise_id, period_start::float8 AS period_start, cell_y, cell_x, bucket, reports::float8 AS reports
       FROM cell_trend_histogram ORDER BY exercise_id, period_start, cell_y, cell_x, bucket`,
    ),
    counted: (await w.query<{ path: string }>(`SELECT path FROM lake_files_counted ORDER BY path`)).map((r) => r.path),
    settings: await w.query(`SELECT key, value FROM analyzer_settings ORDER BY key`),
  };
}

const REPORT_PARTIALS = [
  "partial_exercise_totals",
  "partial_cell_histogram",
  "partial_region_histogram",
  "partial_trend_histogram",
  "partial_cell_trend_histogram",
];

async function partialRows(w: Warehouse): Promise<number> {
  const r = await w.query<{ n: number }>(`SELECT (${REPORT_PARTIALS.map((t) => `(SELECT count(*) FROM ${t})`).join(" + ")})::float8 AS n`);
  return r[0]!.n;
}

/**
 * The two trend tables recomputed the naive way from every report counted (the rows both engines keep),
 * keyed as their primary keys: what both warehouses must hold, whatever the engines have in common.
 */
function recomputeTrends(rows: LakeReport[], periodSeconds: number) {
  const trends = new Map<string, { reports: number; score_sum: number }>();
  const cellTrends = new Map<string, { reports: number }>();
  for (const r of rows) {
    if (![r.score, r.latitude, r.longitude].every(Number.isFinite)) continue;
    const bucket = Math.floor(Math.min(Math.max(r.score, 0), 100));
    const period = periodStart(r.timestamp, periodSeconds);
    const t = trends.get(JSON.stringify([r.exerciseId, r.region, period, bucket])) ?? { reports: 0, score_sum: 0 };
    t.reports++;
    t.score_sum += r.score;
    trends.set(JSON.stringify([r.exerciseId, r.region, period, bucket]), t);
    const k = JSON.stringify([r.exerciseId, period, Math.floor(r.latitude / CELL), Math.floor(r.longitude / CELL), bucket]);
    cellTrends.set(k, { reports: (cellTrends.get(k)?.reports ?? 0) + 1 });
  }
  return { trends, cellTrends };
}

/** A trend table's rows keyed like recomputeTrends' (every key once). */
function keyed<T extends Record<string, unknown>>(rows: T[], keys: string[], values: string[]): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const r of rows) {
    const k = JSON.stringify(keys.map((c) => r[c]));
    expect(out.has(k)).toBe(false);
    out.set(k, Object.fromEntries(values.map((c) => [c, r[c]])));
  }
  return out;
}

/** The trend tables of `w` are those of the reports counted. */
async function expectTrendsOf(w: Warehouse, counted: LakeReport[], periodSeconds: number): Promise<void> {
  const t = await tables(w);
  const expected = recomputeTrends(counted, periodSeconds);
  const sorted = (m: Map<string, unknown>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  expectSame(sorted(keyed(t.trends, ["exercise_id", "region", "period_start", "bucket"], ["reports", "score_sum"])), sorted(expected.trends));
  expectSame(sorted(keyed(t.cellTrends, ["exercise_id", "period_start", "cell_y", "cell_x", "bucket"], ["reports"])), sorted(expected.cellTrends));
}

/** Every answer of the read side, for a few threshold snapshots. */
async function answers(w: Warehouse) {
  const out: unknown[] = [];
  for (const s of SNAPSHOTS) {
    out.push((await exerciseStats(w, s)).exercises);
    for (const ex of EXERCISES) out.push(await hotspots(w, s, ex, 1000, CELL));
    out.push(await regionStats(w, s));
    for (const ex of EXERCISES) out.push(await regionStats(w, s, ex));
  }
  return out;
}

/**
 * Deep equality where integers (counts, cells, buckets) must be equal and other numbers (score sums and
 * averages: Spark adds them up in another order) equal to 1e-9 relative.
 */
function expectSame(actual: unknown, expected: unknown, path = "$"): void {
  if (typeof actual === "number" && typeof expected === "number") {
    if (Number.isInteger(actual) && Number.isInteger(expected)) {
      if (actual !== expected) throw new Error(`${path}: ${actual} !== ${expected}`);
      return;
    }
    const tol = 1e-9 * Math.max(Math.abs(actual), Math.abs(expected));
    if (!(Math.abs(actual - expected) <= tol)) throw new Error(`${path}: ${actual} differs from ${expected} by more than 1e-9 relative`);
    return;
  }
  if (Array.isArray(actual) && Array.isArray(expected)) {
    if (actual.length !== expected.length) throw new Error(`${path}: ${actual.length} items, expected ${expected.length}`);
    for (const [i, a] of actual.entries()) expectSame(a, expected[i], `${path}[${i}]`);
    return;
  }
  if (actual && expected && typeof actual === "object" && typeof expected === "object") {
    const ka = Object.keys(actual).sort();
    const ke = Object.keys(expected).sort();
    expect(ka).toEqual(ke);
    for (const k of ka) expectSame((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${path}.${k}`);
    return;
  }
  expect(actual).toEqual(expected);
}

/** A lake that can also list a file that does not exist (a file lost between the listing and the run). */
class GhostLake implements Lake {
  readonly engine = "local";
  ghost: string | null = null;
  constructor(private readonly inner: LocalLake) {}
  uri(path: string): string {
    return this.inner.uri(path);
  }
  write(path: string, bytes: Uint8Array): Promise<void> {
    return this.inner.write(path, bytes);
  }
  createExclusive(path: string, bytes: Uint8Array): Promise<boolean> {
    return this.inner.createExclusive(path, bytes);
  }
  async list(prefix: string): Promise<LakeFile[]> {
    const files = await this.inner.list(prefix);
    return this.ghost?.startsWith(prefix) ? [...files, { path: this.ghost, size: 1 }] : files;
  }
  read(path: string): Promise<Uint8Array> {
    return this.inner.read(path);
  }
  ping(): Promise<void> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Processes whose command line mentions a string (e.g. a run id: the application's name carries it). */
function processesMentioning(s: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").includes(s)) pids.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

function databaseUrl(base: string, db: string): string {
  const u = new URL(base);
  u.pathname = `/${db}`;
  return u.toString();
}

describe.skipIf(!ENABLED)("SparkAnalyticsEngine end to end", () => {
  const tag = `${Date.now().toString(36)}_${crypto.randomUUID().slice(0, 6)}`;
  const DB_EMBEDDED = `acu_spark_t_${tag}_embedded`;
  const DB_SPARK = `acu_spark_t_${tag}_spark`;
  let dir: string;
  let admin: postgres.Sql;
  let local: LocalLake;
  let lake: GhostLake;
  let embeddedW: PostgresWarehouse;
  let sparkW: PostgresWarehouse;
  let embedded: Analyzer;
  let spark: Analyzer;
  const analyzers: Analyzer[] = [];
  const sparkLog: string[] = [];
  let offset = 0;
  let hour = 0;
  /** Every report written by addFile: once a run has counted them all, the trend tables must be theirs. */
  const written: LakeReport[] = [];

  const addFile = async (rows: LakeReport[], partition = 0) => {
    const withOffsets = rows.map((r, i) => ({ ...r, partition, offset: offset + i }));
    written.push(...withOffsets);
    const path = lakePath(
      { dataset: "reports", topic: "student-reports", partition, firstOffset: offset, lastOffset: offset + rows.length - 1 },
      Date.UTC(2026, 10, 27, hour++ % 24),
    );
    await local.write(path, encodeReports(withOffsets));
    offset += rows.length;
    return path;
  };

  const sparkEngine = (timeoutMs?: number): AnalyticsEngine =>
    new SparkAnalyticsEngine({
      lake,
      master: MASTER,
      sparkHome: SPARK_HOME,
      python: PYTHON,
      jdbcJar: JDBC_JAR,
      databaseUrl: databaseUrl(DB_URL, DB_SPARK),
      timeoutMs,
      log: sparkLogger(sparkLog),
    });

  const start = async (w: Warehouse, engine: AnalyticsEngine) => {
    const a = await startAnalyzer({ lake, warehouse: w, engine, cellSizeDeg: CELL, schedule: null });
    analyzers.push(a);
    return a;
  };

  /**
   * Runs both analyzers; they must agree on what they read and on everything the warehouse then says,
   * and (every file written being counted by then) their trend tables must be those of the reports written.
   */
  const runBothAndCompare = async (): Promise<[RunSummary, RunSummary]> => {
    const s = await spark.runNow();
    if (s.outcome !== "succeeded") console.log(sparkLog.slice(-40).join("\n"));
    expect(s).toMatchObject({ outcome: "succeeded", engine: "spark" });
    const e = await embedded.runNow();
    expect(e).toMatchObject({ outcome: "succeeded", engine: "embedded" });
    expect({ files: s.files, rows: s.rows }).toEqual({ files: e.files, rows: e.rows });
    expectSame(await tables(sparkW), await tables(embeddedW));
    expectSame(await answers(sparkW), await answers(embeddedW));
    await expectTrendsOf(sparkW, written, DEFAULT_TREND_PERIOD_SECONDS);
    expect(await partialRows(sparkW)).toBe(0);
    return [s, e];
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "acu-spark-engine-"));
    local = new LocalLake(join(dir, "lake"));
    lake = new GhostLake(local);
    admin = postgres(DB_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${DB_EMBEDDED}`);
    await admin.unsafe(`CREATE DATABASE ${DB_SPARK}`);
    embeddedW = await PostgresWarehouse.open(databaseUrl(DB_URL, DB_EMBEDDED));
    sparkW = await PostgresWarehouse.open(databaseUrl(DB_URL, DB_SPARK));
    await migrate(embeddedW);
    await migrate(sparkW);
    embedded = await start(embeddedW, new ArrowAnalyticsEngine({ lake, warehouse: embeddedW }));
    spark = await start(sparkW, sparkEngine());
  }, 120_000);

  afterAll(async () => {
    for (const a of analyzers) await a.stop().catch(() => {});
    await embeddedW?.close();
    await sparkW?.close();
    if (admin) {
      for (const db of [DB_EMBEDDED, DB_SPARK]) await admin.unsafe(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch((e) => console.log(`drop ${db}: ${e}`));
      await admin.end({ timeout: 5 });
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  test(
    "the same partials as the embedded engine: cumulative tables and answers match, run after run",
    async () => {
      await addFile(edgeReports());
      await addFile(reports(3000, 1));
      await addFile(reports(1500, 2), 1);
      await addFile(reports(1, 3), 2);
      // Valid report files that are not the lake's own (a Spark job's _temporary/, part files, hidden copies): read by neither.
      const foreign = encodeReports(reports(400, 9).map((r, i) => ({ ...r, partition: 0, offset: i })));
      for (const path of foreignLakePaths("reports")) await local.write(path, foreign);
      const [first] = await runBothAndCompare();
      const edgesKept = edgeReports().length - 3; // NaN score, infinite latitude, infinite longitude
      expect(first).toMatchObject({ files: 4, rows: edgesKept + 3000 + 1500 + 1 });

      // Something to compare: every exercise, the "unknown" region, cells west of Greenwich, both ends of the buckets.
      const t = await tables(sparkW);
      expect(t.exercises.map((r) => r.exercise_id)).toEqual(["ex-ünïcode", "ex0", "ex1", "ex2", "ex3", "ex4"]);
      expect(t.regions.some((r) => r.region === "unknown")).toBe(true);
      expect(t.cells.some((r) => (r.cell_x as number) < 0)).toBe(true);
      expect(t.cells.some((r) => r.bucket === 0) && t.cells.some((r) => r.bucket === 100)).toBe(true);
      expect(t.cells.some((r) => r.exercise_id === "ex0" && r.cell_y === 482 && r.cell_x === -3)).toBe(true);
      // Many periods, and each edge report in the period it belongs to (just before a boundary: the one before; at it: its own; before 1970: floor).
      expect(new Set(t.trends.map((r) => r.period_start)).size).toBeGreaterThanOrEqual((SPREAD_HOURS * 3600) / DEFAULT_TREND_PERIOD_SECONDS);
      expect(new Set(t.cellTrends.map((r) => r.period_start)).size).toBeGreaterThanOrEqual((SPREAD_HOURS * 3600) / DEFAULT_TREND_PERIOD_SECONDS);
      const edgePeriods = t.trends.filter((r) => r.region === TREND_EDGE_REGION).map((r) => [r.period_start, r.bucket, r.reports]);
      expect(edgePeriods).toEqual(
        TREND_EDGES.map(({ periodStart: at }, i) => [at(DEFAULT_TREND_PERIOD_SECONDS), 10 * i, 1]).sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!),
      );
      const [before, at] = [BOUNDARY / 1000 - DEFAULT_TREND_PERIOD_SECONDS, BOUNDARY / 1000];
      expect(t.cellTrends.some((r) => r.exercise_id === "ex0" && r.period_start === before && r.bucket === 0)).toBe(true);
      expect(t.cellTrends.some((r) => r.exercise_id === "ex0" && r.period_start === at && r.bucket === 10)).toBe(true);

      // A second run adds to the cumulative tables.
      await addFile(reports(2000, 4));
      await addFile(reports(700, 5), 1);
      const [second] = await runBothAndCompare();
      expect(second).toMatchObject({ files: 2, rows: 2700 });
      expect((await recentRuns(sparkW, 10)).filter((r) => r.outcome === "succeeded").map((r) => r.rows)).toEqual([2700, first.rows]);
    },
    TIMEOUT_MS,
  );

  const addIncidentFile = async (events: IncidentEvent[], partition = 0) => {
    const path = lakePath(
      { dataset: "incidents", topic: "incident-events", partition, firstOffset: offset, lastOffset: offset + events.length - 1 },
      Date.UTC(2026, 10, 27, hour++ % 24),
    );
    await local.write(path, encodeIncidentEvents(events.map((e, i) => lakeIncidentEvent(e, partition, offset + i))));
    offset += events.length;
    return path;
  };

  /** The response-time tables and answers of both warehouses must be the same, and those of the events. */
  const compareResponseTimes = async (events: IncidentEvent[]) => {
    const q = {
      totals: `SELECT region, outcome, incidents::float8 AS incidents FROM incident_totals ORDER BY region, outcome`,
      histogram: `SELECT region, step, seconds::float8 AS seconds, incidents::float8 AS incidents FROM response_histogram ORDER BY region, step, seconds`,
    };
    for (const sql of Object.values(q)) expect(await sparkW.query(sql)).toEqual(await embeddedW.query(sql));
    const [s, e] = [await responseTimes(sparkW), await responseTimes(embeddedW)];
    expect(s.regions).toEqual(e.regions);
    expect(e.regions).toEqual(recomputeResponseTimes(events.map((x) => ({ type: x.type, region: x.region, ...x.times }))));
    const left = `SELECT ((SELECT count(*) FROM partial_incident_totals) + (SELECT count(*) FROM partial_response_histogram))::float8 AS n`;
    expect([await sparkW.query(left), await embeddedW.query(left)]).toEqual([[{ n: 0 }], [{ n: 0 }]]);
    return e.regions;
  };

  test(
    "response times: the same partials of incident files as the embedded engine, run after run",
    async () => {
      const t0 = Date.UTC(2026, 10, 27, 9);
      const edge = (i: number, type: "resolved" | "cancelled", region: string, t: Partial<IncidentEvent["times"]>): IncidentEvent => {
        const [e] = incidentHistories(1, 900 + i);
        return {
          ...e!,
          eventId: `edge-${i}:9`,
          incidentId: `edge-${i}`,
          type,
          state: type,
          region,
          times: { ...e!.times, openedAt: t0, acknowledgedAt: null, onSiteAt: null, resolvedAt: null, ...t },
        };
      };
      const edges = [
        edge(1, "resolved", "Bretagne", { acknowledgedAt: t0 + 999, onSiteAt: t0 + 1000, resolvedAt: t0 + 1001 }),
        edge(2, "resolved", "Bretagne", { acknowledgedAt: t0 - 1500, onSiteAt: t0 + 59_999, resolvedAt: t0 + 86_400_000 * 3 + 1 }), // a clock behind; three days
        edge(3, "cancelled", "Corse", { cancelledAt: t0 + 5 }), // no step reached
        edge(4, "cancelled", "Provence-Alpes-Côte d'Azur", { acknowledgedAt: t0 + 12_345, cancelledAt: t0 + 20_000 }),
      ];
      const events = [...incidentHistories(600, 41), ...edges];
      await addIncidentFile(events.slice(0, 1200));
      await addIncidentFile(events.slice(1200), 1);
      await addFile(reports(300, 40));
      const [first] = await runBothAndCompare();
      expect(first).toMatchObject({ files: 3, rows: 300 });
      const regions = await compareResponseTimes(events);
      expect(regions.some((r) => r.region === "Corse" && r.cancelled >= 1)).toBe(true);

      // A second run: only the new file is counted (its incidents' earlier events were in the first files).
      const more = incidentHistories(300, 42);
      await addIncidentFile(more, 2);
      const [second] = await runBothAndCompare();
      expect(second).toMatchObject({ files: 1, rows: 0, incidents: more.filter((e) => e.type === "resolved" || e.type === "cancelled").length });
      await compareResponseTimes([...events, ...more]);
      expect(await partialRows(sparkW)).toBe(0);
    },
    TIMEOUT_MS,
  );

  test(
    "a failed Spark run leaves the tables untouched, and the next run is exact",
    async () => {
      const pending = await addFile(reports(1200, 10));
      const before = await tables(sparkW);

      // 1. A listed file that does not exist: Spark fails reading it.
      lake.ghost = lakePath({ dataset: "reports", topic: "student-reports", partition: 7, firstOffset: 0, lastOffset: 9 }, Date.UTC(2026, 10, 27, 23));
      const missing = await spark.runNow();
      expect(missing).toMatchObject({ outcome: "failed", engine: "spark", files: 2 });
      expect(missing.error).toMatch(/spark-submit exited with code \d+/);
      expect(missing.error).toMatch(/PATH_NOT_FOUND|does not exist/i);
      console.log(`failed as expected: ${missing.error!.split("\n")[0]}`);
      lake.ghost = null;
      expect(await tables(sparkW)).toEqual(before);
      expect(await partialRows(sparkW)).toBe(0);

      // 2. The warehouse refuses the last partial table: the first four are already written (and committed) by then.
      await sparkW.query(`CREATE FUNCTION acu_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'acu test: refused'; END $$`);
      await sparkW.query(`CREATE TABLE acu_test_seen (t text, n bigint)`);
      await sparkW.query(
        `CREATE FUNCTION acu_test_seen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO acu_test_seen VALUES (TG_TABLE_NAME, 1); RETURN NEW; END $$`,
      );
      await sparkW.query(`CREATE TRIGGER acu_test_seen AFTER INSERT ON partial_exercise_totals FOR EACH ROW EXECUTE FUNCTION acu_test_seen()`);
      await sparkW.query(`CREATE TRIGGER acu_test_refuse BEFORE INSERT ON ${REPORT_PARTIALS.at(-1)} FOR EACH STATEMENT EXECUTE FUNCTION acu_test_refuse()`);
      const refused = await spark.runNow();
      expect(refused).toMatchObject({ outcome: "failed", engine: "spark", files: 1 });
      expect(refused.error).toMatch(/acu test: refused/);
      console.log(`failed as expected: ${refused.error!.split("\n")[0]!.slice(0, 400)}…`);
      expect((await sparkW.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM acu_test_seen`))[0]!.n).toBeGreaterThan(0);
      expect(await tables(sparkW)).toEqual(before);
      expect(await partialRows(sparkW)).toBe(0);
      await sparkW.query(`DROP TRIGGER acu_test_refuse ON ${REPORT_PARTIALS.at(-1)}`);
      await sparkW.query(`DROP TRIGGER acu_test_seen ON partial_exercise_totals`);
      await sparkW.query(`DROP FUNCTION acu_test_refuse()`);
      await sparkW.query(`DROP FUNCTION acu_test_seen()`);
      await sparkW.query(`DROP TABLE acu_test_seen`);

      // 3. A run that takes too long is stopped, its processes with it.
      const impatient = await start(sparkW, sparkEngine(3000));
      const late = await impatient.runNow();
      expect(late).toMatchObject({ outcome: "failed", engine: "spark", files: 1 });
      expect(late.error).toMatch(/timed out after 3000 ms/);
      for (let i = 0; i < 50 && processesMentioning(late.runId).length > 0; i++) await Bun.sleep(100);
      expect(processesMentioning(late.runId)).toEqual([]);
      expect(await tables(sparkW)).toEqual(before);

      // The file no run could count, and one more: counted once each, as by the embedded engine.
      await addFile(reports(800, 11), 2);
      const [after] = await runBothAndCompare();
      expect(after).toMatchObject({ files: 2, rows: 2000 });
      expect((await tables(sparkW)).counted).toContain(pending);
      const runs = await recentRuns(sparkW, 10);
      expect(runs.slice(0, 4).map((r) => [r.outcome, r.engine])).toEqual([
        ["succeeded", "spark"],
        ["failed", "spark"],
        ["failed", "spark"],
        ["failed", "spark"],
      ]);
    },
    TIMEOUT_MS,
  );
});

describe.skipIf(!(ENABLED && HDFS_URL && HDFS_NAMENODE))("SparkAnalyticsEngine on an HDFS lake", () => {
  test(
    "Spark reads the hdfs:// files the embedded engine reads over WebHDFS: the same tables and answers",
    async () => {
      const tag = `${Date.now().toString(36)}_${crypto.randomUUID().slice(0, 6)}`;
      const root = `/acu-spark-test-${tag}`;
      const dbs = [`acu_spark_t_${tag}_hdfs_embedded`, `acu_spark_t_${tag}_hdfs_spark`] as const;
      const admin = postgres(DB_URL, { max: 1, onnotice: () => {} });
      const warehouses: PostgresWarehouse[] = [];
      try {
        const lake = await WebHdfsLake.open({ url: HDFS_URL, root, namenode: HDFS_NAMENODE });
        const at = Date.UTC(2026, 10, 27, 10);
        const files: Array<[number, LakeReport[]]> = [
          [0, edgeReports()],
          [1, reports(2500, 30)],
        ];
        const all = files.flatMap(([, rows]) => rows);
        for (const [partition, rows] of files) {
          const path = lakePath({ dataset: "reports", topic: "student-reports", partition, firstOffset: 0, lastOffset: rows.length - 1 }, at);
          await lake.write(path, encodeReports(rows.map((r, i) => ({ ...r, partition, offset: i }))));
        }
        // What a Spark job writing into the lake leaves there, and hidden copies: valid rows, read by neither engine.
        const foreign = encodeReports(reports(400, 31).map((r, i) => ({ ...r, partition: 0, offset: i })));
        for (const path of foreignLakePaths("reports")) await lake.write(path, foreign);
        expect(lake.uri("reports/x.parquet")).toStartWith(`${HDFS_NAMENODE}/`);
        for (const db of dbs) {
          await admin.unsafe(`CREATE DATABASE ${db}`);
          const w = await PostgresWarehouse.open(databaseUrl(DB_URL, db));
          warehouses.push(w);
          await migrate(w);
        }
        const [embeddedW, sparkW] = warehouses as [PostgresWarehouse, PostgresWarehouse];
        const engine = new SparkAnalyticsEngine({
          lake,
          master: MASTER,
          sparkHome: SPARK_HOME,
          python: PYTHON,
          jdbcJar: JDBC_JAR,
          databaseUrl: databaseUrl(DB_URL, dbs[1]),
        });
        const onSpark = await startAnalyzer({ lake, warehouse: sparkW, engine, cellSizeDeg: CELL, trendPeriodSeconds: HDFS_TREND_PERIOD, schedule: null });
        const onEmbedded = await startAnalyzer({
          lake,
          warehouse: embeddedW,
          engine: new ArrowAnalyticsEngine({ lake, warehouse: embeddedW }),
          cellSizeDeg: CELL,
          trendPeriodSeconds: HDFS_TREND_PERIOD,
          schedule: null,
        });
        const s = await onSpark.runNow();
        const e = await onEmbedded.runNow();
        await onSpark.stop();
        await onEmbedded.stop();
        expect(s).toMatchObject({ outcome: "succeeded", engine: "spark", files: 2, rows: edgeReports().length - 3 + 2500 });
        expect({ files: e.files, rows: e.rows }).toEqual({ files: s.files, rows: s.rows });
        expectSame(await tables(sparkW), await tables(embeddedW));
        expectSame(await answers(sparkW), await answers(embeddedW));
        // Periods of HDFS_TREND_PERIOD seconds, not the default: the period reaches the application.
        await expectTrendsOf(sparkW, all, HDFS_TREND_PERIOD);
        expect(new Set((await tables(sparkW)).trends.map((r) => r.period_start)).size).toBeGreaterThanOrEqual((SPREAD_HOURS * 3600) / HDFS_TREND_PERIOD);
      } finally {
        for (const w of warehouses) await w.close().catch(() => {});
        for (const db of dbs) await admin.unsafe(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch((e) => console.log(`drop ${db}: ${e}`));
        await admin.end({ timeout: 5 });
        await fetch(`${HDFS_URL}/webhdfs/v1${root}?op=DELETE&recursive=true&user.name=acu`, { method: "DELETE" }).catch(() => {});
      }
    },
    TIMEOUT_MS,
  );
});

/** Keeps every Spark line and shows all but the debug ones (the driver's own output). */
function sparkLogger(lines: string[]): Logger {
  const show = (m: string) => {
    lines.push(m);
    console.log(m);
  };
  const l: Logger = { debug: (m) => void lines.push(m), info: show, warn: show, error: show, child: () => l };
  return l;
}
