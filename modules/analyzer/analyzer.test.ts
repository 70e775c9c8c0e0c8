import { afterEach, expect, test } from "bun:test";
import { lineLogger, type Logger } from "../../src/log.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
// Tests wire real adapters; the module code itself imports ports and domain only.
import { ArrowAnalyticsEngine } from "../../src/adapters/embedded/arrow-engine.ts";
import { LocalLake } from "../../src/adapters/embedded/local-lake.ts";
import { PgliteWarehouse } from "../../src/adapters/embedded/pglite-warehouse.ts";
import { lakePath } from "../../src/domain/lake-layout.ts";
import type { ThresholdSnapshot } from "../../src/domain/threshold.ts";
import type { IncidentEvent } from "../../src/domain/incident-event.ts";
import { encodeIncidentEvents, encodeReports, lakeIncidentEvent, type LakeReport } from "../../src/formats/parquet.ts";
import type { AnalyticsEngine, PartialsRequest } from "../../src/ports/analytics-engine.ts";
import type { Warehouse } from "../../src/ports/warehouse.ts";
import { migrate, MIGRATIONS } from "../../src/warehouse/migrate.ts";
import { startAnalyzer, type Analyzer } from "./analyzer.ts";
import { backlog, CountedFiles } from "./run.ts";
import { PARTIAL_TABLES } from "./merge.ts";
import { DEFAULT_TREND_PERIOD_SECONDS } from "../../src/domain/trend-period.ts";
import { exerciseStats, hotspots, recentRuns, regionStats, responseTimes, runsPage } from "./queries.ts";
import { trends, type TrendRequest, type Trends } from "./trends.ts";
import { trendPeriod, TrendsIncompleteError, windowStart } from "./windows.ts";
import { thresholdFor } from "../../src/domain/threshold.ts";
import { clusteredReports, foreignLakePaths } from "../../tests/support/lake-fixture.ts";
import { incidentHistories } from "../../tests/support/incident-fixture.ts";
import { recomputeResponseTimes } from "../../tests/support/recompute.ts";

const TIMEOUT_MS = 60000;

// ---- fixtures ----------------------------------------------------------------------------------

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
}, TIMEOUT_MS);

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), "acu-analyzer-"));
  const lake = new LocalLake(join(dir, "lake"));
  const w = await PgliteWarehouse.open(join(dir, "pg"));
  await migrate(w);
  cleanups.push(async () => {
    await w.close();
    await rm(dir, { recursive: true, force: true });
  });
  const engine = new ArrowAnalyticsEngine({ lake, warehouse: w });
  const all: LakeReport[] = [];
  let offset = 0;
  let hour = 0;
  /** Writes one lake file (next offsets of partition 0) and remembers its rows. */
  const addFile = async (rows: LakeReport[]) => {
    const withOffsets = rows.map((r, i) => ({ ...r, partition: 0, offset: offset + i }));
    const path = lakePath(
      { dataset: "reports", topic: "student-reports", partition: 0, firstOffset: offset, lastOffset: offset + rows.length - 1 },
      Date.UTC(2026, 10, 27, hour++ % 24),
    );
    await lake.write(path, encodeReports(withOffsets));
    offset += rows.length;
    all.push(...withOffsets);
    return path;
  };
  const analyzers: Analyzer[] = [];
  const start = async (
    opts: {
      cellSizeDeg?: number;
      trendPeriodSeconds?: number;
      thresholds?: () => Promise<ThresholdSnapshot>;
      engine?: AnalyticsEngine;
      schedule?: string | null;
      log?: Logger;
    } = {},
  ) => {
    const a = await startAnalyzer({
      lake,
      warehouse: w,
      engine: opts.engine ?? engine,
      cellSizeDeg: opts.cellSizeDeg ?? 1,
      ...(opts.trendPeriodSeconds !== undefined ? { trendPeriodSeconds: opts.trendPeriodSeconds } : {}),
      ...(opts.thresholds ? { thresholds: opts.thresholds } : {}),
      schedule: opts.schedule ?? null,
      log: opts.log,
    });
    analyzers.push(a);
    cleanups.push(() => a.stop());
    return a;
  };
  return { dir, lake, w, engine, all, addFile, start };
}

/** The fixture's reports spread over hours of timestamps (15-minute trend periods, the default, and hours). */
const reports = (n: number, seed: number): LakeReport[] =>
  clusteredReports(n, seed).map((r, i) => ({ ...r, timestamp: Date.UTC(2026, 10, 27, 8) + seed * 1_800_000 + i * 7_919 }));
const PERIOD = DEFAULT_TREND_PERIOD_SECONDS;

const bucketOf = (score: number) => Math.min(100, Math.max(0, Math.floor(score)));

/** The cumulative tables as they should be, computed directly from raw rows. */
function recompute(rows: LakeReport[], cell: number) {
  const exercises = new Map<string, { reports: number; scoreSum: number }>();
  const cells = new Map<string, number>();
  const regions = new Map<string, { reports: number; scoreSum: number }>();
  const trends = new Map<string, { reports: number; scoreSum: number }>();
  const cellTrends = new Map<string, number>();
  for (const r of rows) {
    const b = bucketOf(r.score);
    const p = Math.floor(r.timestamp / (PERIOD * 1000)) * PERIOD;
    const tk = [r.exerciseId, r.region, p, b].join("|");
    const t = trends.get(tk) ?? { reports: 0, scoreSum: 0 };
    t.reports++;
    t.scoreSum += r.score;
    trends.set(tk, t);
    const ctk = [r.exerciseId, p, Math.floor(r.latitude / cell), Math.floor(r.longitude / cell), b].join("|");
    cellTrends.set(ctk, (cellTrends.get(ctk) ?? 0) + 1);
    const e = exercises.get(r.exerciseId) ?? { reports: 0, scoreSum: 0 };
    e.reports++;
    e.scoreSum += r.score;
    exercises.set(r.exerciseId, e);
    const ck = [r.exerciseId, Math.floor(r.latitude / cell), Math.floor(r.longitude / cell), b].join("|");
    cells.set(ck, (cells.get(ck) ?? 0) + 1);
    const rk = [r.exerciseId, r.region, b].join("|");
    const g = regions.get(rk) ?? { reports: 0, scoreSum: 0 };
    g.reports++;
    g.scoreSum += r.score;
    regions.set(rk, g);
  }
  return { exercises, cells, regions, trends, cellTrends };
}

async function tables(w: Warehouse) {
  const exercises = new Map(
    (
      await w.query<{ exercise_id: string; reports: number; score_sum: number }>(
        `SELECT exercise_id, reports::float8 AS reports, score_sum FROM exercise_totals`,
      )
    ).map((r) => [r.exercise_id, { reports: r.reports, scoreSum: r.score_sum }]),
  );
  const cells = new Map(
    (
      await w.query<{ exercise_id: string; cell_y: number; cell_x: number; bucket: number; reports: number }>(
        `SELECT exercise_id, cell_y, cell_x, bucket, reports::float8 AS reports FROM cell_histogram`,
      )
    ).map((r) => [[r.exercise_id, r.cell_y, r.cell_x, r.bucket].join("|"), r.reports]),
  );
  const regions = new Map(
    (
      await w.query<{ exercise_id: string; region: string; bucket: number; reports: number; score_sum: number }>(
        `SELECT exercise_id, region, bucket, reports::float8 AS reports, score_sum FROM region_histogram`,
      )
    ).map((r) => [[r.exercise_id, r.region, r.bucket].join("|"), { reports: r.reports, scoreSum: r.score_sum }]),
  );
  const trends = new Map(
    (
      await w.query<{ exercise_id: string; region: string; period_start: number; bucket: number; reports: number; score_sum: number }>(
        `SELECT exercise_id, region, period_start::float8 AS period_start, bucket, reports::float8 AS reports, score_sum FROM trend_histogram`,
      )
    ).map((r) => [[r.exercise_id, r.region, r.period_start, r.bucket].join("|"), { reports: r.reports, scoreSum: r.score_sum }]),
  );
  const cellTrends = new Map(
    (
      await w.query<{ exercise_id: string; period_start: number; cell_y: number; cell_x: number; bucket: number; reports: number }>(
        `SELECT exercise_id, period_start::float8 AS period_start, cell_y, cell_x, bucket, reports::float8 AS reports FROM cell_trend_histogram`,
      )
    ).map((r) => [[r.exercise_id, r.period_start, r.cell_y, r.cell_x, r.bucket].join("|"), r.reports]),
  );
  const counted = (await w.query<{ path: string }>(`SELECT path FROM lake_files_counted ORDER BY path`)).map((r) => r.path);
  const partials = (await w.query<{ n: number }>(`SELECT (${PARTIAL_TABLES.map((t) => `(SELECT count(*) FROM ${t})`).join(" + ")})::int AS n`))[0]!.n;
  return { exercises, cells, regions, trends, cellTrends, counted, partials };
}

/** Counts exact; float sums equal up to summation order. */
function expectMatches(got: Awaited<ReturnType<typeof tables>>, want: ReturnType<typeof recompute>) {
  expect(got.cells).toEqual(want.cells);
  expect([...got.exercises.keys()].sort()).toEqual([...want.exercises.keys()].sort());
  for (const [k, v] of want.exercises) {
    expect(got.exercises.get(k)!.reports).toBe(v.reports);
    expect(got.exercises.get(k)!.scoreSum).toBeCloseTo(v.scoreSum, 6);
  }
  expect([...got.regions.keys()].sort()).toEqual([...want.regions.keys()].sort());
  for (const [k, v] of want.regions) {
    expect(got.regions.get(k)!.reports).toBe(v.reports);
    expect(got.regions.get(k)!.scoreSum).toBeCloseTo(v.scoreSum, 6);
  }
  expect(got.cellTrends).toEqual(want.cellTrends);
  expect([...got.trends.keys()].sort()).toEqual([...want.trends.keys()].sort());
  for (const [k, v] of want.trends) {
    expect(got.trends.get(k)!.reports).toBe(v.reports);
    expect(got.trends.get(k)!.scoreSum).toBeCloseTo(v.scoreSum, 6);
  }
  expect(got.partials).toBe(0);
}

const snap = (defaultThreshold: number, thresholds: Record<string, number> = {}, revision = 1): ThresholdSnapshot => ({
  defaultThreshold,
  thresholds,
  revision,
});

// ---- runs ----------------------------------------------------------------------------------------

test(
  "incremental runs count each lake file exactly once",
  async () => {
    const { w, addFile, all, start, lake } = await setup();
    const a = await start({ cellSizeDeg: 1 });

    const empty = await a.runNow();
    expect(empty).toMatchObject({ outcome: "succeeded", files: 0, rows: 0, engine: "embedded" });

    const p1 = await addFile(reports(700, 1));
    const p2 = await addFile(reports(500, 2));
    const r1 = await a.runNow();
    expect(r1).toMatchObject({ outcome: "succeeded", files: 2, rows: 1200, engine: "embedded" });
    expect(r1.error).toBeUndefined();
    expect(r1.runId).toMatch(/^run-/);
    expectMatches(await tables(w), recompute(all, 1));

    await addFile(reports(300, 3));
    await addFile(reports(900, 4));
    const r2 = await a.runNow();
    expect(r2).toMatchObject({ outcome: "succeeded", files: 2, rows: 1200 });
    const after2 = await tables(w);
    expectMatches(after2, recompute(all, 1));
    expect(after2.counted).toEqual((await lake.list("reports/")).map((f) => f.path));
    expect(after2.counted).toContain(p1);
    expect(after2.counted).toContain(p2);

    const r3 = await a.runNow();
    expect(r3).toMatchObject({ outcome: "succeeded", files: 0, rows: 0 });
    expect(await tables(w)).toEqual(after2);

    const runs = await recentRuns(w, 10);
    expect(runs.map((r) => r.runId)).toEqual([r3.runId, r2.runId, r1.runId, empty.runId]);
    expect(runs[1]).toMatchObject({ engine: "embedded", files: 2, rows: 1200, outcome: "succeeded", error: null });
    // The recorded duration is the one between the recorded times (both to the millisecond).
    expect(runs[1]!.durationMs).toBe(Date.parse(runs[1]!.finishedAt!) - Date.parse(runs[1]!.startedAt));
    expect(Date.parse(runs[1]!.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(runs[1]!.startedAt));
    expect(runs[1]!.startedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(await recentRuns(w, 1)).toHaveLength(1);
  },
  TIMEOUT_MS,
);

test(
  "files under reports/ and incidents/ that are not the lake's own are not counted: a Spark job's _temporary/ and part files, hidden copies, another topic's",
  async () => {
    const { w, addFile, all, start, lake } = await setup();
    const a = await start({ cellSizeDeg: 1 });
    const ours = [await addFile(reports(700, 1)), await addFile(reports(500, 2))];
    const events = incidentHistories(20, 5);
    const incidentFile = lakePath(
      { dataset: "incidents", topic: "incident-events", partition: 0, firstOffset: 0, lastOffset: events.length - 1 },
      Date.UTC(2026, 10, 27, 9),
    );
    await lake.write(incidentFile, encodeIncidentEvents(events.map((e, i) => lakeIncidentEvent(e, 0, i))));
    // Valid rows in each: counted, they would change every table.
    const foreignReports = encodeReports(reports(300, 3).map((r, i) => ({ ...r, offset: i })));
    const foreignEvents = encodeIncidentEvents(incidentHistories(10, 6).map((e, i) => lakeIncidentEvent(e, 0, i)));
    for (const path of foreignLakePaths("reports")) await lake.write(path, foreignReports);
    for (const path of foreignLakePaths("incidents")) await lake.write(path, foreignEvents);

    const run = await a.runNow();
    expect(run).toMatchObject({ outcome: "succeeded", files: 3, rows: 1200 });
    const t = await tables(w);
    expectMatches(t, recompute(all, 1));
    expect(t.counted).toEqual([...ours, incidentFile].sort());
    expect((await responseTimes(w)).regions).toEqual(recomputeResponseTimes(events.map((e) => ({ type: e.type, region: e.region, ...e.times }))));
    // Nor are they a backlog waiting to be counted.
    expect(await backlog(lake, w)).toBe(0);
  },
  TIMEOUT_MS,
);

test(
  "the backlog gauge asks the warehouse only when its look at the counted files is older than the refresh",
  async () => {
    const { w, addFile, start, lake } = await setup();
    let asked = 0;
    const counting: Warehouse = {
      engine: w.engine,
      query: (sql, params) => {
        asked++;
        return w.query(sql, params);
      },
      transaction: (fn) => w.transaction(fn),
      ping: () => w.ping(),
      close: () => w.close(),
    };
    let now = 0;
    const counted = new CountedFiles(60_000, () => now);
    const a = await start({ cellSizeDeg: 1 });
    const first = await addFile(reports(700, 1));
    expect(await backlog(lake, counting, counted)).toBe(700);
    expect(asked).toBe(1);
    await addFile(reports(500, 2));
    now = 59_000;
    // Not asked: a file it does not know counted is in the backlog.
    expect(await backlog(lake, counting, counted)).toBe(1200);
    expect(asked).toBe(1);
    counted.add([first]);
    expect(await backlog(lake, counting, counted)).toBe(500);
    expect(await a.runNow()).toMatchObject({ outcome: "succeeded", files: 2 });
    // Counted by a run this gauge was not told of: shown until the next look, one refresh later at most.
    expect(await backlog(lake, counting, counted)).toBe(500);
    now = 121_000;
    expect(await backlog(lake, counting, counted)).toBe(0);
    expect(asked).toBe(2);
    expect(await backlog(lake, w)).toBe(0);
  },
  TIMEOUT_MS,
);

test(
  "a failing engine leaves the tables untouched and the next run is exact",
  async () => {
    const { w, addFile, all, start, engine } = await setup();
    const a = await start({ cellSizeDeg: 1 });
    await addFile(reports(400, 10));
    await a.runNow();
    const before = await tables(w);

    let failures = 1;
    const flaky: AnalyticsEngine = {
      engine: "embedded",
      async computePartials(req: PartialsRequest) {
        const res = await engine.computePartials(req); // partials written...
        if (failures-- > 0) throw new Error("engine crashed"); // ...then a crash
        return res;
      },
    };
    const b = await start({ cellSizeDeg: 1, engine: flaky });
    await addFile(reports(600, 11));
    await addFile(reports(200, 12));
    const failed = await b.runNow();
    expect(failed).toMatchObject({ outcome: "failed", error: "engine crashed", files: 2 });
    expect(await tables(w)).toEqual(before);
    const [run] = await recentRuns(w, 1);
    expect(run).toMatchObject({ runId: failed.runId, outcome: "failed", error: "engine crashed" });
    expect(run!.finishedAt).not.toBeNull();

    const retried = await b.runNow();
    expect(retried).toMatchObject({ outcome: "succeeded", files: 2, rows: 800 });
    expectMatches(await tables(w), recompute(all, 1));
  },
  TIMEOUT_MS,
);

test(
  "partials that do not hold every row read fail the merge, which changes nothing",
  async () => {
    const { w, addFile, all, start, engine } = await setup();
    const lossy: AnalyticsEngine = {
      engine: "lossy",
      async computePartials(req: PartialsRequest) {
        const res = await engine.computePartials(req);
        await w.query(`DELETE FROM partial_cell_histogram WHERE run_id = $1 AND bucket < 50`, [req.runId]);
        return res;
      },
    };
    const a = await start({ cellSizeDeg: 1, engine: lossy });
    await addFile(reports(300, 20));
    const s = await a.runNow();
    expect(s.outcome).toBe("failed");
    expect(s.error).toMatch(/incomplete/);
    const t = await tables(w);
    expect(t.exercises.size + t.cells.size + t.regions.size + t.counted.length + t.partials).toBe(0);

    const b = await start({ cellSizeDeg: 1 });
    expect(await b.runNow()).toMatchObject({ outcome: "succeeded", files: 1, rows: 300 });
    expectMatches(await tables(w), recompute(all, 1));
  },
  TIMEOUT_MS,
);

test(
  "a file counted by another run meanwhile aborts the merge instead of counting it twice",
  async () => {
    const { w, addFile, start, engine } = await setup();
    const p = await addFile(reports(100, 30));
    const racing: AnalyticsEngine = {
      engine: "embedded",
      async computePartials(req: PartialsRequest) {
        const res = await engine.computePartials(req);
        await w.query(`INSERT INTO lake_files_counted (path, run_id) VALUES ($1, 'someone-else')`, [p]);
        return res;
      },
    };
    const a = await start({ cellSizeDeg: 1, engine: racing });
    const s = await a.runNow();
    expect(s.outcome).toBe("failed");
    expect(s.error).toMatch(/already counted/);
    const t = await tables(w);
    expect(t.exercises.size + t.cells.size + t.regions.size + t.partials).toBe(0);
  },
  TIMEOUT_MS,
);

test(
  "runNow called concurrently never double counts (one analyzer, and two analyzers on one warehouse)",
  async () => {
    const { w, addFile, all, start } = await setup();
    const a = await start({ cellSizeDeg: 1 });
    const b = await start({ cellSizeDeg: 1 });
    for (let i = 0; i < 4; i++) await addFile(reports(250, 40 + i));
    const [s1, s2] = await Promise.all([a.runNow(), a.runNow()]);
    expect([s1!.files, s2!.files].sort()).toEqual([0, 4]);
    expectMatches(await tables(w), recompute(all, 1));

    await addFile(reports(300, 50));
    await addFile(reports(300, 51));
    const results = await Promise.all([a.runNow(), b.runNow(), a.runNow(), b.runNow()]);
    // Whatever interleaving happened, the rows of every file were added exactly once.
    expect(results.filter((r) => r.outcome === "succeeded").reduce((n, r) => n + r.rows, 0)).toBe(600);
    expectMatches(await tables(w), recompute(all, 1));
  },
  TIMEOUT_MS,
);

test(
  "a changed cell size is refused until a rebuild, which equals a fresh computation",
  async () => {
    const { w, addFile, all, start, dir } = await setup();
    const coarse = await start({ cellSizeDeg: 1 });
    await addFile(reports(500, 60));
    await addFile(reports(500, 61));
    await coarse.runNow();
    const built = await tables(w);

    const fine = await start({ cellSizeDeg: 0.25 });
    await addFile(reports(250, 62));
    const refused = await fine.runNow();
    expect(refused.outcome).toBe("failed");
    expect(refused.error).toMatch(/cell size changed.*1°.*0\.25°.*rebuild/);
    expect(await tables(w)).toEqual(built);
    expect((await recentRuns(w, 1))[0]).toMatchObject({ outcome: "failed", error: refused.error });

    const rebuilt = await fine.rebuild();
    expect(rebuilt).toMatchObject({ outcome: "succeeded", files: 3, rows: 1250 });
    expectMatches(await tables(w), recompute(all, 0.25));
    expect(await w.query(`SELECT value FROM analyzer_settings WHERE key = 'cell_size_deg'`)).toEqual([{ value: "0.25" }]);
    // Now the old size is the one refused, and incremental runs go on with the new one.
    expect((await coarse.runNow()).error).toMatch(/rebuild/);
    await addFile(reports(100, 63));
    expect(await fine.runNow()).toMatchObject({ outcome: "succeeded", files: 1 });
    expectMatches(await tables(w), recompute(all, 0.25));

    // Same as a fresh warehouse analysing the same lake with the new size.
    const fresh = await PgliteWarehouse.open(join(dir, "fresh"));
    cleanups.push(() => fresh.close());
    await migrate(fresh);
    const { lake } = await (async () => ({ lake: new LocalLake(join(dir, "lake")) }))();
    const f = await startAnalyzer({ lake, warehouse: fresh, engine: new ArrowAnalyticsEngine({ lake, warehouse: fresh }), cellSizeDeg: 0.25, schedule: null });
    await f.runNow();
    await f.stop();
    const a = await tables(w);
    const b = await tables(fresh);
    expect(a.cells).toEqual(b.cells);
    expect(a.counted).toEqual(b.counted);
    expect([...a.regions.keys()].sort()).toEqual([...b.regions.keys()].sort());
  },
  TIMEOUT_MS,
);

test(
  "a failed rebuild keeps the previous tables",
  async () => {
    const { w, addFile, start, engine } = await setup();
    const a = await start({ cellSizeDeg: 1 });
    await addFile(reports(200, 70));
    await a.runNow();
    const before = await tables(w);
    const broken: AnalyticsEngine = {
      engine: "embedded",
      computePartials: async () => {
        throw new Error("no executors");
      },
    };
    const b = await start({ cellSizeDeg: 2, engine: broken });
    expect(await b.rebuild()).toMatchObject({ outcome: "failed", error: "no executors" });
    expect(await tables(w)).toEqual(before);
    expect(await w.query(`SELECT key, value FROM analyzer_settings ORDER BY key`)).toEqual([
      { key: "cell_size_deg", value: "1" },
      { key: "trend_period_seconds", value: "900" },
    ]);
    void engine;
  },
  TIMEOUT_MS,
);

test(
  "the cell size is pinned by the first merge, not by a run that failed before it",
  async () => {
    const { w, addFile, all, start } = await setup();
    await addFile(reports(100, 75));
    const broken: AnalyticsEngine = {
      engine: "embedded",
      computePartials: async () => {
        throw new Error("not yet");
      },
    };
    expect((await (await start({ cellSizeDeg: 1, engine: broken })).runNow()).outcome).toBe("failed");
    expect(await w.query(`SELECT value FROM analyzer_settings`)).toEqual([]);
    expect(await (await start({ cellSizeDeg: 2 })).runNow()).toMatchObject({ outcome: "succeeded", files: 1 });
    expect(await w.query(`SELECT key, value FROM analyzer_settings ORDER BY key`)).toEqual([
      { key: "cell_size_deg", value: "2" },
      { key: "trend_period_seconds", value: "900" },
    ]);
    expectMatches(await tables(w), recompute(all, 2));
  },
  TIMEOUT_MS,
);

test(
  "runs left 'running' by a crash are closed as failed at start and their partials cleaned",
  async () => {
    const { w, addFile, all, start } = await setup();
    await addFile(reports(150, 80));
    await w.query(`INSERT INTO analyzer_runs (run_id, engine, started_at, outcome) VALUES ('run-crashed', 'embedded', now(), 'running')`);
    await w.query(`INSERT INTO partial_exercise_totals (run_id, exercise_id, reports, score_sum) VALUES ('run-crashed', 'ex0', 1000, 5)`);
    await w.query(`INSERT INTO partial_cell_histogram (run_id, exercise_id, cell_y, cell_x, bucket, reports) VALUES ('run-gone', 'ex0', 1, 1, 1, 1000)`);
    const logs: string[] = [];
    const a = await start({ cellSizeDeg: 1, log: lineLogger((m) => logs.push(m)) });
    expect(logs.join("\n")).toMatch(/1 interrupted run/);
    expect(await w.query(`SELECT outcome FROM analyzer_runs WHERE run_id = 'run-crashed'`)).toEqual([{ outcome: "failed" }]);
    expect(await a.runNow()).toMatchObject({ outcome: "succeeded", files: 1, rows: 150 });
    expectMatches(await tables(w), recompute(all, 1));
    expect(logs.some((m) => m.includes("succeeded"))).toBe(true);
  },
  TIMEOUT_MS,
);

test(
  "a run cut short by a warehouse restart fails, is recorded as failed once the warehouse answers, and the next run is exact",
  async () => {
    const { w, lake, addFile, all } = await setup();
    // The warehouse goes away during the run (a PostgreSQL restart): every statement fails until it is back.
    let down = false;
    const refused = () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432"));
    const restarting: Warehouse = {
      engine: w.engine,
      query: (sql, params) => (down ? refused() : w.query(sql, params)),
      transaction: (fn) => (down ? refused() : w.transaction(fn)),
      ping: () => (down ? refused() : w.ping()),
      close: async () => {},
    };
    const inner = new ArrowAnalyticsEngine({ lake, warehouse: restarting });
    let restarts = 1;
    const engine: AnalyticsEngine = {
      engine: "embedded",
      async computePartials(req: PartialsRequest) {
        if (restarts-- > 0) down = true;
        return inner.computePartials(req);
      },
    };
    const logs: string[] = [];
    const a = await startAnalyzer({ lake, warehouse: restarting, engine, cellSizeDeg: 1, schedule: null, log: lineLogger((m) => logs.push(m)) });
    cleanups.push(() => a.stop());
    await addFile(reports(300, 90));
    const failed = await a.runNow();
    expect(failed).toMatchObject({ outcome: "failed", files: 1 });
    // The failure could not be written: the run still says 'running' in the warehouse.
    down = false;
    expect(await w.query(`SELECT outcome FROM analyzer_runs WHERE run_id = $1`, [failed.runId])).toEqual([{ outcome: "running" }]);
    const next = await a.runNow();
    expect(next).toMatchObject({ outcome: "succeeded", files: 1, rows: 300 });
    expect(await w.query(`SELECT outcome, error FROM analyzer_runs WHERE run_id = $1`, [failed.runId])).toEqual([{ outcome: "failed", error: failed.error }]);
    expect(await w.query(`SELECT count(*)::int AS n FROM analyzer_runs WHERE outcome = 'running'`)).toEqual([{ n: 0 }]);
    expect(logs.some((m) => m.includes(`recorded the failure of run ${failed.runId}`))).toBe(true);
    expectMatches(await tables(w), recompute(all, 1));
  },
  TIMEOUT_MS,
);

test(
  "the schedule runs the analyzer on its own and stop() ends it",
  async () => {
    const { w, addFile, all, start } = await setup();
    await addFile(reports(100, 90));
    const a = await start({ cellSizeDeg: 1, schedule: "* * * * * *" });
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (await tables(w)).counted.length === 0) await Bun.sleep(100);
    expectMatches(await tables(w), recompute(all, 1));
    await a.stop();
    const n = (await recentRuns(w, 100)).length;
    await Bun.sleep(1500);
    expect((await recentRuns(w, 100)).length).toBe(n);
    await expect(a.runNow()).rejects.toThrow(/stopped/);
  },
  TIMEOUT_MS,
);

// The whole path at the size the analyzer must handle; ~15 s, so opt-in: ACU_BENCH=1 bun test modules/analyzer
test.skipIf(!process.env.ACU_BENCH)(
  "1,000,000 reports in the lake: the first run counts them all, the next one only the new file",
  async () => {
    const { w, addFile, start } = await setup();
    let expectedReports = 0;
    for (let f = 0; f < 10; f++) {
      const rows = reports(100_000, 1000 + f).map((r) => ({ ...r, latitude: r.latitude + (f % 5) * 3, longitude: r.longitude - (f % 3) * 5 }));
      await addFile(rows);
      expectedReports += rows.length;
    }
    const a = await start({ cellSizeDeg: 0.1 });
    const first = await a.runNow();
    console.log(`1,000,000 reports: ${first.durationMs} ms`);
    expect(first).toMatchObject({ outcome: "succeeded", files: 10, rows: 1_000_000 });
    await addFile(reports(10_000, 2000));
    const second = await a.runNow();
    console.log(`then 10,000 more: ${second.durationMs} ms`);
    expect(second).toMatchObject({ outcome: "succeeded", files: 1, rows: 10_000 });
    const [{ n }] = (await w.query<{ n: number }>(`SELECT sum(reports)::float8 AS n FROM cell_histogram`)) as [{ n: number }];
    expect(n).toBe(expectedReports + 10_000);
    expect(first.durationMs).toBeLessThan(60_000);
  },
  300_000,
);

test(
  "startAnalyzer rejects a bad cell size or cron expression",
  async () => {
    const { lake, w, engine } = await setup();
    await expect(startAnalyzer({ lake, warehouse: w, engine, cellSizeDeg: 0, schedule: null })).rejects.toThrow(/cell size/);
    await expect(startAnalyzer({ lake, warehouse: w, engine, cellSizeDeg: 1, schedule: "not a cron" })).rejects.toThrow();
  },
  TIMEOUT_MS,
);

// ---- queries -------------------------------------------------------------------------------------

function row(exerciseId: string, score: number, latitude: number, longitude: number, region = "Bretagne"): LakeReport {
  return { reportId: crypto.randomUUID(), studentId: "s", exerciseId, score, latitude, longitude, timestamp: 0, region, partition: 0, offset: 0 };
}

test(
  "exerciseStats: totals, averages and failures by the snapshot's thresholds; asOf is the last success",
  async () => {
    const { w, addFile, all, start } = await setup();
    expect(await exerciseStats(w, snap(50))).toEqual({ exercises: [], asOf: null, nextCursor: null });
    const a = await start({ cellSizeDeg: 1 });
    await addFile(reports(800, 100));
    await a.runNow();
    for (const [s, th] of [
      [snap(50), {}],
      [snap(30, { ex1: 70, ex3: 0 }), { ex1: 70, ex3: 0 }],
    ] as const) {
      const got = await exerciseStats(w, s);
      expect(got.exercises.map((e) => e.exerciseId)).toEqual(["ex0", "ex1", "ex2", "ex3"]);
      for (const e of got.exercises) {
        const rows = all.filter((r) => r.exerciseId === e.exerciseId);
        const t = (th as Record<string, number>)[e.exerciseId] ?? s.defaultThreshold;
        expect(e.threshold).toBe(t);
        expect(e.reports).toBe(rows.length);
        expect(e.failures).toBe(rows.filter((r) => r.score < t).length);
        expect(e.averageScore).toBeCloseTo(rows.reduce((n, r) => n + r.score, 0) / rows.length, 9);
      }
    }
    const [last] = await recentRuns(w, 1);
    expect((await exerciseStats(w, snap(50))).asOf).toBe(last!.finishedAt);
  },
  TIMEOUT_MS,
);

test(
  "exerciseStats and runsPage in pages: a stable order, every item once, nextCursor null on the last page; an unknown run cursor is null",
  async () => {
    const { w, addFile, start } = await setup();
    const a = await start({ cellSizeDeg: 1 });
    // 25 exercises, ids whose code-unit order differs from a locale's ("B" < "a" < "b").
    const ids = Array.from({ length: 25 }, (_, i) => (i % 3 === 0 ? `B.${i}` : i % 3 === 1 ? `a.${i}` : `b-${i}`));
    for (const [i, id] of ids.entries()) {
      await addFile([row(id, 20, 48, 2), row(id, 80 + (i % 10), 48, 2)]);
      if (i < 5) await a.runNow();
    }
    await a.runNow();
    const whole = await exerciseStats(w, snap(50));
    expect(whole.exercises.map((e) => e.exerciseId)).toEqual([...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
    expect(whole.nextCursor).toBeNull();
    for (const limit of [1, 7, 25, 26]) {
      const pages: string[][] = [];
      let cursor: string | null = null;
      do {
        const p = await exerciseStats(w, snap(30, { [ids[0]!]: 90 }), { limit, cursor });
        expect(p.exercises.length).toBeLessThanOrEqual(limit);
        pages.push(p.exercises.map((e) => e.exerciseId));
        // Failures are those of the page's exercises, each by its own threshold.
        for (const e of p.exercises) expect(e.failures).toBe(e.exerciseId === ids[0] ? 2 : 1);
        cursor = p.nextCursor;
      } while (cursor !== null && pages.length < 100);
      expect(pages.flat()).toEqual(whole.exercises.map((e) => e.exerciseId));
      expect(pages.length).toBe(Math.ceil(25 / limit));
    }
    // Six runs, newest first, by pages of 4: 4 then 2, every run once.
    const runs = await recentRuns(w, 100);
    expect(runs).toHaveLength(6);
    const first = await runsPage(w, { limit: 4, cursor: null });
    expect(first!.runs).toEqual(runs.slice(0, 4));
    const second = await runsPage(w, { limit: 4, cursor: first!.nextCursor });
    expect([second!.runs, second!.nextCursor]).toEqual([runs.slice(4), null]);
    expect(await runsPage(w, { limit: 4, cursor: "run-nope" })).toBeNull();
  },
  TIMEOUT_MS,
);

test(
  "a threshold change changes hotspot and region failures without a new run",
  async () => {
    const { w, addFile, all, start } = await setup();
    const a = await start({ cellSizeDeg: 1 });
    await addFile(reports(1500, 110));
    await a.runNow();
    const runsBefore = (await recentRuns(w, 100)).length;

    for (const th of [10, 50, 90, 50.0]) {
      const s = snap(70, { ex2: th }, th);
      const hs = await hotspots(w, s, "ex2", 1000, 1);
      expect(hs.threshold).toBe(th);
      const want = new Map<string, { failures: number; reports: number }>();
      for (const r of all.filter((r) => r.exerciseId === "ex2")) {
        const k = `${Math.floor(r.latitude) + 0.5},${Math.floor(r.longitude) + 0.5}`;
        const c = want.get(k) ?? { failures: 0, reports: 0 };
        c.reports++;
        if (r.score < th) c.failures++;
        want.set(k, c);
      }
      expect(new Map(hs.cells.map((c) => [`${c.latitude},${c.longitude}`, { failures: c.failures, reports: c.reports }]))).toEqual(
        new Map([...want].filter(([, c]) => c.failures > 0)),
      );

      const rs = await regionStats(w, s, "ex2");
      expect(rs.exerciseId).toBe("ex2");
      for (const g of rs.regions) {
        const rows = all.filter((r) => r.exerciseId === "ex2" && r.region === g.region);
        expect(g.reports).toBe(rows.length);
        expect(g.failures).toBe(rows.filter((r) => r.score < th).length);
        expect(g.averageScore).toBeCloseTo(rows.reduce((n, r) => n + r.score, 0) / rows.length, 9);
      }
      expect(rs.regions.map((g) => g.failures)).toEqual([...rs.regions.map((g) => g.failures)].sort((x, y) => y - x));

      // All exercises: each judged by its own threshold.
      const allRegions = await regionStats(w, s);
      expect(allRegions.exerciseId).toBeNull();
      for (const g of allRegions.regions) {
        const rows = all.filter((r) => r.region === g.region);
        expect(g.reports).toBe(rows.length);
        expect(g.failures).toBe(rows.filter((r) => r.score < (r.exerciseId === "ex2" ? th : 70)).length);
      }
    }
    expect((await recentRuns(w, 100)).length).toBe(runsBefore);
  },
  TIMEOUT_MS,
);

test(
  "hotspots: most failures first, then more reports, then latitude and longitude; limit; cell centres",
  async () => {
    const { w, addFile, start } = await setup();
    const a = await start({ cellSizeDeg: 2 });
    const rows = [
      // cell (10.x, 10.x) → centre (11, 11): 3 failures of 3
      row("ex", 1, 10.5, 10.5),
      row("ex", 2, 11.9, 10.1),
      row("ex", 3, 10.0, 11.0),
      // centre (21, 21): 2 failures of 5
      row("ex", 1, 20.1, 20.1),
      row("ex", 1, 20.1, 20.1),
      row("ex", 90, 20.1, 20.1),
      row("ex", 90, 20.1, 20.1),
      row("ex", 90, 20.1, 20.1),
      // centre (5, 5): 2 failures of 3
      row("ex", 10, 4.5, 4.5),
      row("ex", 10, 4.5, 4.5),
      row("ex", 60, 4.5, 4.5),
      // centre (-3, 7): 2 failures of 3 (same as above, further south)
      row("ex", 10, -3.5, 7.5),
      row("ex", 10, -3.5, 7.5),
      row("ex", 60, -3.5, 7.5),
      // centre (5, 3): 2 failures of 3 (same latitude as (5, 5), further west)
      row("ex", 10, 4.5, 2.5),
      row("ex", 10, 4.5, 2.5),
      row("ex", 60, 4.5, 2.5),
      // centre (31, 31): no failure
      row("ex", 99, 30.5, 30.5),
      // another exercise in the same cells
      row("other", 0, 10.5, 10.5),
      row("other", 0, 30.5, 30.5),
      // 49.99 fails a threshold of 50, 50 does not
      row("ex", 49.99, -50.5, -60.5),
      row("ex", 50, -50.5, -60.5),
      row("ex", 100, -50.5, -60.5),
    ];
    await addFile(rows);
    await a.runNow();
    const hs = await hotspots(w, snap(50), "ex", 10, 2);
    expect(hs).toMatchObject({ exerciseId: "ex", threshold: 50, cellSizeDeg: 2 });
    expect(hs.cells).toEqual([
      { latitude: 11, longitude: 11, failures: 3, reports: 3 },
      { latitude: 21, longitude: 21, failures: 2, reports: 5 },
      { latitude: -3, longitude: 7, failures: 2, reports: 3 },
      { latitude: 5, longitude: 3, failures: 2, reports: 3 },
      { latitude: 5, longitude: 5, failures: 2, reports: 3 },
      { latitude: -51, longitude: -61, failures: 1, reports: 3 },
    ]);
    expect((await hotspots(w, snap(50), "ex", 2, 2)).cells.map((c) => c.failures)).toEqual([3, 2]);
    expect((await hotspots(w, snap(50), "ex", 0, 2)).cells).toEqual([]);
    expect((await hotspots(w, snap(50), "nobody", 10, 2)).cells).toEqual([]);
    // The centres follow the size the tables were built with, even if the caller passes another.
    expect((await hotspots(w, snap(50), "ex", 1, 0.5)).cells[0]).toMatchObject({ latitude: 11, longitude: 11 });
    // A threshold of 0 fails nobody; 100 fails everything below 100.
    expect((await hotspots(w, snap(0), "ex", 10, 2)).cells).toEqual([]);
    expect((await hotspots(w, snap(100), "ex", 10, 2)).cells.reduce((n, c) => n + c.failures, 0)).toBe(
      rows.filter((r) => r.exerciseId === "ex" && r.score < 100).length,
    );
  },
  TIMEOUT_MS,
);

test(
  "regionStats orders by failures, then reports, then name",
  async () => {
    const { w, addFile, start } = await setup();
    const a = await start({ cellSizeDeg: 1 });
    await addFile([
      row("e1", 10, 0, 0, "B"),
      row("e1", 10, 0, 0, "B"),
      row("e1", 90, 0, 0, "B"),
      row("e1", 10, 0, 0, "A"),
      row("e1", 10, 0, 0, "A"),
      row("e1", 10, 0, 0, "C"),
      row("e2", 40, 0, 0, "C"),
      row("e2", 40, 0, 0, "C"),
      row("e1", 95, 0, 0, "D"),
    ]);
    await a.runNow();
    expect((await regionStats(w, snap(50))).regions.map((r) => [r.region, r.failures, r.reports])).toEqual([
      ["C", 3, 3],
      ["B", 2, 3],
      ["A", 2, 2],
      ["D", 0, 1],
    ]);
    // e2 judged by its own threshold: 40 < 30 is false.
    expect((await regionStats(w, snap(50, { e2: 30 }))).regions.map((r) => [r.region, r.failures])).toEqual([
      ["B", 2],
      ["A", 2],
      ["C", 1],
      ["D", 0],
    ]);
    const e2 = await regionStats(w, snap(50), "e2");
    expect(e2.regions).toEqual([{ region: "C", reports: 2, averageScore: 40, failures: 2 }]);
  },
  TIMEOUT_MS,
);

// ---- response times ------------------------------------------------------------------------------

/** Writes incident events as lake files (next offsets of one partition each), as the sink does. */
function incidentFiles(lake: LocalLake) {
  const offsets = new Map<number, number>();
  let hour = 0;
  return async (events: IncidentEvent[], partition = 0): Promise<string> => {
    const first = offsets.get(partition) ?? 0;
    offsets.set(partition, first + events.length);
    const path = lakePath(
      { dataset: "incidents", topic: "incident-events", partition, firstOffset: first, lastOffset: first + events.length - 1 },
      Date.UTC(2026, 10, 27, hour++ % 24),
    );
    await lake.write(path, encodeIncidentEvents(events.map((e, i) => lakeIncidentEvent(e, partition, first + i))));
    return path;
  };
}

const flat = (events: IncidentEvent[]) => events.map((e) => ({ type: e.type, region: e.region, ...e.times }));

test(
  "response times: the embedded engine's figures equal a recomputation from the events; incremental runs count each incidents file once",
  async () => {
    const { w, lake, addFile, start } = await setup();
    const addIncidents = incidentFiles(lake);
    const a = await start({ cellSizeDeg: 1 });
    expect(await responseTimes(w)).toEqual({ regions: [], asOf: null });

    // An incident's events spread over files and runs: only its terminal event counts, wherever it lands.
    const events = incidentHistories(400, 31);
    const seen: IncidentEvent[] = [];
    const chunks = [events.slice(0, 500), events.slice(500, 1200), events.slice(1200)];
    await addIncidents(
      chunks[0]!.filter((_, i) => i % 2 === 0),
      0,
    );
    await addIncidents(
      chunks[0]!.filter((_, i) => i % 2 === 1),
      1,
    );
    await addFile(reports(200, 300));
    seen.push(...chunks[0]!);
    const r1 = await a.runNow();
    expect(r1).toMatchObject({
      outcome: "succeeded",
      files: 3,
      rows: 200,
      incidents: seen.filter((e) => e.type === "resolved" || e.type === "cancelled").length,
    });
    const first = await responseTimes(w);
    expect(first.regions).toEqual(recomputeResponseTimes(flat(seen)));
    expect(first.asOf).toBe((await recentRuns(w, 1))[0]!.finishedAt);

    await addIncidents(chunks[1]!, 2);
    await addIncidents(chunks[2]!, 0);
    seen.push(...chunks[1]!, ...chunks[2]!);
    const r2 = await a.runNow();
    expect(r2).toMatchObject({ outcome: "succeeded", files: 2, rows: 0 });
    const all = await responseTimes(w);
    expect(all.regions).toEqual(recomputeResponseTimes(flat(events)));
    // Something to compare: every step, cancelled incidents, more than one region, percentiles apart.
    expect(all.regions.length).toBeGreaterThan(3);
    expect(all.regions.every((r) => r.resolved > 0 && r.cancelled > 0 && r.acknowledge.count > r.resolve.count)).toBe(true);
    expect(all.regions.some((r) => r.resolve.p90! > r.resolve.p50!)).toBe(true);

    // Nothing new: nothing counted again; the ledger holds every incidents file.
    expect(await a.runNow()).toMatchObject({ outcome: "succeeded", files: 0, incidents: 0 });
    expect((await responseTimes(w)).regions).toEqual(all.regions);
    const counted = (await w.query<{ path: string }>(`SELECT path FROM lake_files_counted WHERE path LIKE 'incidents/%' ORDER BY path`)).map((r) => r.path);
    expect(counted).toEqual((await lake.list("incidents/")).map((f) => f.path));

    // A rebuild recounts them once too.
    expect(await a.rebuild()).toMatchObject({ outcome: "succeeded", files: 5, rows: 200, incidents: r1.incidents + r2.incidents });
    expect((await responseTimes(w)).regions).toEqual(all.regions);
  },
  TIMEOUT_MS,
);

test(
  "response times: partials short of the engine's count fail the merge, which changes nothing",
  async () => {
    const { w, lake, start, engine } = await setup();
    const addIncidents = incidentFiles(lake);
    const events = incidentHistories(100, 32);
    await addIncidents(events);
    const lossy: AnalyticsEngine = {
      engine: "lossy",
      async computePartials(req: PartialsRequest) {
        const res = await engine.computePartials(req);
        await w.query(`DELETE FROM partial_response_histogram WHERE run_id = $1 AND step = 'onSite'`, [req.runId]);
        return res;
      },
    };
    const s = await (await start({ cellSizeDeg: 1, engine: lossy })).runNow();
    expect(s.outcome).toBe("failed");
    expect(s.error).toMatch(/incomplete: response partials hold \d+ response times, the engine read \d+/);
    expect(await responseTimes(w)).toMatchObject({ regions: [] });
    expect(await w.query(`SELECT count(*)::int AS n FROM lake_files_counted`)).toEqual([{ n: 0 }]);

    // An engine that ignores incident files is refused, not taken as "none finished".
    const blind: AnalyticsEngine = {
      engine: "blind",
      computePartials: async (req) => ({ rows: (await engine.computePartials({ ...req, incidentFiles: [] })).rows }),
    };
    expect((await (await start({ cellSizeDeg: 1, engine: blind })).runNow()).error).toMatch(/did not count the run's 1 incident file/);

    expect(await (await start({ cellSizeDeg: 1 })).runNow()).toMatchObject({ outcome: "succeeded", files: 1 });
    expect((await responseTimes(w)).regions).toEqual(recomputeResponseTimes(flat(events)));
  },
  TIMEOUT_MS,
);

// ---- trends and windows --------------------------------------------------------------------------

const DAY_START = Date.UTC(2026, 10, 27);
const HOUR = 3_600_000;

/** Per bucket of `size` ms from `from`: reports, failures under the thresholds, score sum — straight from the raw rows. */
function recomputeTrend(rows: LakeReport[], thresholdOf: (exerciseId: string) => number, size: number, from: number, to: number) {
  const out = new Map<number, { reports: number; failures: number; scoreSum: number }>();
  for (let t = from; t < to; t += size) out.set(t, { reports: 0, failures: 0, scoreSum: 0 });
  for (const r of rows) {
    if (r.timestamp < from || r.timestamp >= to) continue;
    const b = out.get(Math.floor(r.timestamp / size) * size)!;
    b.reports++;
    b.scoreSum += r.score;
    if (bucketOf(r.score) < thresholdOf(r.exerciseId)) b.failures++;
  }
  return out;
}

function expectTrend(got: Trends, want: ReturnType<typeof recomputeTrend>) {
  expect(got.buckets.map((b) => Date.parse(b.start))).toEqual([...want.keys()]);
  for (const b of got.buckets) {
    const x = want.get(Date.parse(b.start))!;
    expect([b.reports, b.failures]).toEqual([x.reports, x.failures]);
    if (x.reports === 0) expect([b.averageScore, b.successRate]).toEqual([null, null]);
    else {
      expect(Math.abs(b.averageScore! - x.scoreSum / x.reports)).toBeLessThan(1e-9);
      expect(b.successRate).toBe((x.reports - x.failures) / x.reports);
    }
  }
}

test(
  "trends per hour and per day equal a recomputation from the raw rows, per exercise, per region, both and neither",
  async () => {
    const { w, addFile, all, start } = await setup();
    const a = await start();
    for (let f = 1; f <= 4; f++) await addFile(reports(700, f));
    expect((await a.runNow()).outcome).toBe("succeeded");
    await addFile(reports(400, 5)); // a second, incremental run: its periods add to the first's
    expect((await a.runNow()).outcome).toBe("succeeded");
    const th = snap(50, { "ex-1": 30, "ex-2": 70 });
    const thresholdOf = (id: string) => thresholdFor(th, id);
    const exercises = [...new Set(all.map((r) => r.exerciseId))].sort();
    const regions = [...new Set(all.map((r) => r.region))].sort();
    expect(exercises.length).toBeGreaterThan(2);
    const ask = (q: Partial<TrendRequest>) =>
      trends(w, th, { exerciseId: null, region: null, fromMs: DAY_START, toMs: DAY_START + 24 * HOUR, bucket: "hour", nowMs: Date.now(), ...q });
    let buckets = 0;
    for (const exerciseId of [null, ...exercises])
      for (const region of [null, regions[0]!, regions.at(-1)!]) {
        const rows = all.filter((r) => (exerciseId === null || r.exerciseId === exerciseId) && (region === null || r.region === region));
        const got = await ask({ exerciseId, region });
        expectTrend(got, recomputeTrend(rows, thresholdOf, HOUR, DAY_START, DAY_START + 24 * HOUR));
        expect(got).toMatchObject({
          exerciseId,
          region,
          bucket: "hour",
          periodSeconds: PERIOD,
          threshold: exerciseId === null ? null : thresholdOf(exerciseId),
        });
        buckets += got.buckets.filter((b) => b.reports > 0).length;
      }
    expect(buckets).toBeGreaterThan(20);
    // Days: the range floors and ceils to whole UTC days.
    const days = await ask({ bucket: "day", fromMs: DAY_START - 2 * 24 * HOUR + 5, toMs: DAY_START + 24 * HOUR - 5 });
    expectTrend(days, recomputeTrend(all, thresholdOf, 24 * HOUR, DAY_START - 2 * 24 * HOUR, DAY_START + 24 * HOUR));
    expect(days.buckets.at(-1)!.reports).toBe(all.length);
  },
  TIMEOUT_MS,
);

test(
  "a window reads the trend tables from the period holding now − window: exercises, regions and hotspots equal the raw rows since then",
  async () => {
    const { w, addFile, all, start } = await setup();
    const a = await start({ cellSizeDeg: 0.5 });
    for (let f = 1; f <= 4; f++) await addFile(reports(700, f));
    expect((await a.runNow()).outcome).toBe("succeeded");
    const th = snap(50, { "ex-1": 30 });
    const latest = Math.max(...all.map((r) => r.timestamp));
    const now = latest + 60_000;
    const from = await windowStart(w, "1h", now);
    expect(from).toBe(Math.floor((now / 1000 - 3600) / PERIOD) * PERIOD);
    const inWindow = all.filter((r) => r.timestamp >= from! * 1000);
    expect(inWindow.length).toBeGreaterThan(100);
    expect(inWindow.length).toBeLessThan(all.length);
    const want = recompute(inWindow, 0.5);

    const ex = await exerciseStats(w, th, undefined, from);
    expect(ex.exercises.map((e) => [e.exerciseId, e.reports])).toEqual(
      [...want.exercises].sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, v]) => [k, v.reports]),
    );
    for (const e of ex.exercises) {
      expect(Math.abs(e.averageScore - want.exercises.get(e.exerciseId)!.scoreSum / e.reports)).toBeLessThan(1e-9);
      expect(e.failures).toBe(inWindow.filter((r) => r.exerciseId === e.exerciseId && bucketOf(r.score) < e.threshold).length);
    }
    const reg = await regionStats(w, th, undefined, from);
    for (const r of reg.regions) {
      const rows = inWindow.filter((x) => x.region === r.region);
      expect([r.reports, r.failures]).toEqual([rows.length, rows.filter((x) => bucketOf(x.score) < thresholdFor(th, x.exerciseId)).length]);
    }
    expect(reg.regions.reduce((n, r) => n + r.reports, 0)).toBe(inWindow.length);
    const hot = await hotspots(w, th, "ex-1", 1000, 0.5, from);
    const wantCells = new Map<string, number>();
    for (const r of inWindow.filter((x) => x.exerciseId === "ex-1" && bucketOf(x.score) < 30)) {
      const k = `${(Math.floor(r.latitude / 0.5) + 0.5) * 0.5}|${(Math.floor(r.longitude / 0.5) + 0.5) * 0.5}`;
      wantCells.set(k, (wantCells.get(k) ?? 0) + 1);
    }
    expect(new Map(hot.cells.map((c) => [`${c.latitude}|${c.longitude}`, c.failures]))).toEqual(wantCells);
    // "all" is the cumulative tables, as before windows existed.
    expect(await windowStart(w, "all", now)).toBeNull();
    expect((await exerciseStats(w, th, undefined, null)).exercises.reduce((n, e) => n + e.reports, 0)).toBe(all.length);
  },
  TIMEOUT_MS,
);

test(
  "the trend period is pinned by the first merge: a run configured with another is refused until a rebuild",
  async () => {
    const { w, addFile, all, start } = await setup();
    await addFile(reports(300, 1));
    expect((await (await start()).runNow()).outcome).toBe("succeeded");
    await addFile(reports(300, 2));
    const other = await start({ trendPeriodSeconds: 1800 });
    const refused = await other.runNow();
    expect(refused.outcome).toBe("failed");
    expect(refused.error).toContain("trend period changed: the warehouse was built with 900 s periods but the analyzer is configured with 1800 s periods");
    expect((await other.rebuild()).outcome).toBe("succeeded");
    expect(await w.query(`SELECT value FROM analyzer_settings WHERE key = 'trend_period_seconds'`)).toEqual([{ value: "1800" }]);
    const periods = await w.query<{ p: number }>(`SELECT DISTINCT (period_start % 1800)::int AS p FROM trend_histogram`);
    expect(periods).toEqual([{ p: 0 }]);
    expect((await w.query<{ n: number }>(`SELECT sum(reports)::int AS n FROM trend_histogram`))[0]!.n).toBe(all.length);
    await expect(start({ trendPeriodSeconds: 1000 })).rejects.toThrow("the trend period must be whole minutes");
  },
  TIMEOUT_MS,
);

test(
  "a warehouse that counted files before the trend tables existed refuses trends and windows until a rebuild recounts the lake",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "acu-analyzer-old-"));
    const w = await PgliteWarehouse.open(join(dir, "pg"));
    cleanups.push(async () => {
      await w.close();
      await rm(dir, { recursive: true, force: true });
    });
    await migrate(w, MIGRATIONS.slice(0, 2));
    await w.query(`INSERT INTO lake_files_counted (path, run_id) VALUES ('reports/x.parquet', 'run-old')`);
    await migrate(w);
    await expect(trendPeriod(w)).rejects.toBeInstanceOf(TrendsIncompleteError);
    await expect(windowStart(w, "1h", Date.now())).rejects.toThrow("trends and windows are not available: lake files were counted before trends existed");
    expect(await windowStart(w, "all", Date.now())).toBeNull();
    await expect(trends(w, snap(50), { exerciseId: null, region: null, fromMs: null, toMs: null, bucket: "hour", nowMs: Date.now() })).rejects.toBeInstanceOf(
      TrendsIncompleteError,
    );

    const lake = new LocalLake(join(dir, "lake"));
    const rows = reports(200, 1).map((r, i) => ({ ...r, partition: 0, offset: i }));
    await lake.write(lakePath({ dataset: "reports", topic: "student-reports", partition: 0, firstOffset: 0, lastOffset: 199 }, DAY_START), encodeReports(rows));
    const a = await startAnalyzer({ lake, warehouse: w, engine: new ArrowAnalyticsEngine({ lake, warehouse: w }), cellSizeDeg: 1, schedule: null });
    cleanups.push(() => a.stop());
    expect((await a.rebuild()).outcome).toBe("succeeded");
    expect(await trendPeriod(w)).toBe(PERIOD);
    const t = await trends(w, snap(50), { exerciseId: null, region: null, fromMs: DAY_START, toMs: DAY_START + 24 * HOUR, bucket: "day", nowMs: Date.now() });
    expect(t.buckets.map((b) => b.reports)).toEqual([200]);
  },
  TIMEOUT_MS,
);

test(
  "threshold changes seen by analyzer runs are the trend's markers; the first value seen is not a change",
  async () => {
    const { w, addFile, start } = await setup();
    // ex1 has reports; ex-1 only a threshold (removed before any report of it).
    let current = snap(50, { "ex-1": 40, ex1: 45 });
    const a = await start({ thresholds: async () => current });
    await addFile(reports(200, 1));
    expect((await a.runNow()).outcome).toBe("succeeded");
    expect((await a.runNow()).outcome).toBe("succeeded"); // nothing changed: nothing recorded
    current = snap(50, { "ex-1": 60, ex1: 65 });
    expect((await a.runNow()).outcome).toBe("succeeded");
    current = snap(55, {}); // ex-1 and ex1 fall back to the default; the other exercises follow the default
    expect((await a.runNow()).outcome).toBe("succeeded");
    const ask = (exerciseId: string) =>
      trends(w, current, { exerciseId, region: null, fromMs: Date.now() - HOUR, toMs: Date.now() + HOUR, bucket: "hour", nowMs: Date.now() });
    expect((await ask("ex-1")).thresholdChanges.map((c) => c.threshold)).toEqual([60, 55]);
    expect((await ask("ex1")).thresholdChanges.map((c) => c.threshold)).toEqual([65, 55]);
    expect((await ask("ex0")).thresholdChanges.map((c) => c.threshold)).toEqual([55]);
    const changes = (await ask("ex-1")).thresholdChanges;
    expect(Date.parse(changes[0]!.at)).toBeLessThanOrEqual(Date.parse(changes[1]!.at));
    expect((await ask("never-seen")).thresholdChanges.map((c) => c.threshold)).toEqual([55]);
    expect((await w.query<{ n: number }>(`SELECT count(*)::int AS n FROM threshold_changes WHERE exercise_id = 'ex-1'`))[0]!.n).toBe(3);
  },
  TIMEOUT_MS,
);
