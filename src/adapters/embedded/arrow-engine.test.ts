import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IncidentEvent, IncidentTimes } from "../../domain/incident-event.ts";
import { encodeIncidentEvents, encodeReports, decodeParquet, lakeIncidentEvent, type LakeReport } from "../../formats/parquet.ts";
import { lakePath } from "../../domain/lake-layout.ts";
import { migrate } from "../../warehouse/migrate.ts";
import { ArrowAnalyticsEngine, ReportAggregator } from "./arrow-engine.ts";
import { LocalLake } from "./local-lake.ts";
import { PgliteWarehouse } from "./pglite-warehouse.ts";

const TIMEOUT_MS = 60000;

let dir: string;
let lake: LocalLake;
let w: PgliteWarehouse;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "acu-arrow-engine-"));
  lake = new LocalLake(join(dir, "lake"));
  w = await PgliteWarehouse.open(join(dir, "pg"));
  await migrate(w);
}, TIMEOUT_MS);

afterAll(async () => {
  await w.close();
  await rm(dir, { recursive: true, force: true });
}, TIMEOUT_MS);

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const REGIONS = ["Île-de-France", "Provence-Alpes-Côte d'Azur", 'odd "quoted", {braced} \\ region', "unknown"];

function reports(n: number, seed: number, firstOffset = 0): LakeReport[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    reportId: `r${seed}-${i}`,
    studentId: `s${i % 97}`,
    exerciseId: `ex-${Math.floor(r() * 5)}`,
    score: i % 50 === 0 ? [0, 100, 49.999, 50][i % 4]! : Math.round(r() * 10000) / 100,
    latitude: -90 + r() * 180,
    longitude: -180 + r() * 360,
    // Across several trend periods; every 7th exactly on a period boundary or 1 ms before one.
    timestamp: i % 7 === 0 ? 1764230400000 + (i % 5) * PERIOD * 1000 - (i % 2) : 1764230400000 + i * 997,
    region: REGIONS[Math.floor(r() * REGIONS.length)]!,
    partition: 0,
    offset: firstOffset + i,
  }));
}

const PERIOD = 900;

function expected(rows: LakeReport[], cell: number) {
  const ex = new Map<string, { reports: number; sum: number }>();
  const cells = new Map<string, number>();
  const regions = new Map<string, { reports: number; sum: number }>();
  const trends = new Map<string, { reports: number; sum: number }>();
  const cellTrends = new Map<string, number>();
  for (const r of rows) {
    const b = Math.min(100, Math.max(0, Math.floor(r.score)));
    const e = ex.get(r.exerciseId) ?? { reports: 0, sum: 0 };
    e.reports++;
    e.sum += r.score;
    ex.set(r.exerciseId, e);
    const ck = JSON.stringify([r.exerciseId, Math.floor(r.latitude / cell), Math.floor(r.longitude / cell), b]);
    cells.set(ck, (cells.get(ck) ?? 0) + 1);
    const rk = JSON.stringify([r.exerciseId, r.region, b]);
    const g = regions.get(rk) ?? { reports: 0, sum: 0 };
    g.reports++;
    g.sum += r.score;
    regions.set(rk, g);
    const p = Math.floor(r.timestamp / (PERIOD * 1000)) * PERIOD;
    const tk = JSON.stringify([r.exerciseId, r.region, p, b]);
    const t = trends.get(tk) ?? { reports: 0, sum: 0 };
    t.reports++;
    t.sum += r.score;
    trends.set(tk, t);
    const ctk = JSON.stringify([r.exerciseId, p, Math.floor(r.latitude / cell), Math.floor(r.longitude / cell), b]);
    cellTrends.set(ctk, (cellTrends.get(ctk) ?? 0) + 1);
  }
  return { ex, cells, regions, trends, cellTrends };
}

test(
  "computePartials writes the exact aggregates of the requested files, tagged with the run id",
  async () => {
    const a = reports(3000, 1);
    const b = reports(2000, 2, 3000);
    const c = reports(500, 3, 5000); // not requested
    const paths = [a, b, c].map((rows) =>
      lakePath({ dataset: "reports", topic: "student-reports", partition: 0, firstOffset: rows[0]!.offset, lastOffset: rows.at(-1)!.offset }, 1764230400000),
    );
    await lake.write(paths[0]!, encodeReports(a));
    await lake.write(paths[1]!, encodeReports(b));
    await lake.write(paths[2]!, encodeReports(c));

    const engine = new ArrowAnalyticsEngine({ lake, warehouse: w });
    expect(engine.engine).toBe("embedded");
    const cell = 0.5;
    const res = await engine.computePartials({ runId: "run-a", files: [paths[0]!, paths[1]!], cellSizeDeg: cell, trendPeriodSeconds: PERIOD });
    expect(res).toEqual({ rows: 5000 });

    const want = expected([...a, ...b], cell);
    const ex = await w.query<{ exercise_id: string; reports: number; score_sum: number }>(
      `SELECT exercise_id, reports::float8 AS reports, score_sum FROM partial_exercise_totals WHERE run_id = 'run-a'`,
    );
    expect(ex.length).toBe(want.ex.size);
    for (const r of ex) {
      expect(r.reports).toBe(want.ex.get(r.exercise_id)!.reports);
      expect(r.score_sum).toBeCloseTo(want.ex.get(r.exercise_id)!.sum, 6);
    }
    const cells = await w.query<{ exercise_id: string; cell_y: number; cell_x: number; bucket: number; reports: number }>(
      `SELECT exercise_id, cell_y, cell_x, bucket, reports::float8 AS reports FROM partial_cell_histogram WHERE run_id = 'run-a'`,
    );
    expect(new Map(cells.map((r) => [JSON.stringify([r.exercise_id, r.cell_y, r.cell_x, r.bucket]), r.reports]))).toEqual(want.cells);
    expect(cells.length).toBe(want.cells.size); // one row per key
    const regions = await w.query<{ exercise_id: string; region: string; bucket: number; reports: number; score_sum: number }>(
      `SELECT exercise_id, region, bucket, reports::float8 AS reports, score_sum FROM partial_region_histogram WHERE run_id = 'run-a'`,
    );
    expect(regions.length).toBe(want.regions.size);
    for (const r of regions) {
      const g = want.regions.get(JSON.stringify([r.exercise_id, r.region, r.bucket]))!;
      expect(g).toBeDefined();
      expect(r.reports).toBe(g.reports);
      expect(r.score_sum).toBeCloseTo(g.sum, 6);
    }
    expect(new Set(regions.map((r) => r.region))).toEqual(new Set(REGIONS));
    const trends = await w.query<{ exercise_id: string; region: string; period_start: number; bucket: number; reports: number; score_sum: number }>(
      `SELECT exercise_id, region, period_start::float8 AS period_start, bucket, reports::float8 AS reports, score_sum FROM partial_trend_histogram WHERE run_id = 'run-a'`,
    );
    expect(trends.length).toBe(want.trends.size);
    expect(new Set(trends.map((r) => r.period_start)).size).toBeGreaterThan(3);
    for (const r of trends) {
      const g = want.trends.get(JSON.stringify([r.exercise_id, r.region, r.period_start, r.bucket]))!;
      expect(g).toBeDefined();
      expect(r.reports).toBe(g.reports);
      expect(r.score_sum).toBeCloseTo(g.sum, 6);
    }
    const cellTrends = await w.query<{ exercise_id: string; period_start: number; cell_y: number; cell_x: number; bucket: number; reports: number }>(
      `SELECT exercise_id, period_start::float8 AS period_start, cell_y, cell_x, bucket, reports::float8 AS reports FROM partial_cell_trend_histogram WHERE run_id = 'run-a'`,
    );
    expect(cellTrends.length).toBe(want.cellTrends.size);
    expect(new Map(cellTrends.map((r) => [JSON.stringify([r.exercise_id, r.period_start, r.cell_y, r.cell_x, r.bucket]), r.reports]))).toEqual(want.cellTrends);
    const buckets = await w.query<{ lo: number; hi: number }>(`SELECT min(bucket) AS lo, max(bucket) AS hi FROM partial_cell_histogram WHERE run_id = 'run-a'`);
    expect(buckets).toEqual([{ lo: 0, hi: 100 }]);
  },
  TIMEOUT_MS,
);

test(
  "an unreadable file fails the call and writes no partials",
  async () => {
    await lake.write("reports/date=2026-11-27/hour=09/student-reports-p9-000000000000-000000000001.parquet", new TextEncoder().encode("not parquet"));
    const good = (await lake.list("reports/"))[0]!.path;
    const engine = new ArrowAnalyticsEngine({ lake, warehouse: w });
    await expect(
      engine.computePartials({
        runId: "run-bad",
        files: [good, "reports/date=2026-11-27/hour=09/student-reports-p9-000000000000-000000000001.parquet"],
        cellSizeDeg: 1,
        trendPeriodSeconds: PERIOD,
      }),
    ).rejects.toThrow(/p9-000000000000-000000000001/);
    expect(await w.query(`SELECT 1 FROM partial_cell_histogram WHERE run_id = 'run-bad'`)).toEqual([]);
  },
  TIMEOUT_MS,
);

test(
  "cells at the edges of the map and the packed-key fallback agree with floor(coordinate / cell)",
  () => {
    const rows: LakeReport[] = [
      { ...reports(1, 9)[0]!, latitude: 90, longitude: 180, score: 100 },
      { ...reports(1, 9)[0]!, latitude: -90, longitude: -180, score: 0 },
      { ...reports(1, 9)[0]!, latitude: 0.3, longitude: -0.3, score: 12.7 },
      { ...reports(1, 9)[0]!, latitude: 1000, longitude: -1000, score: 55 }, // out of range: goes through the fallback map
    ];
    const cell = 0.1;
    const agg = new ReportAggregator(cell, PERIOD);
    agg.addTable(decodeParquet(encodeReports(rows)));
    const got = [...agg.cellEntries()].map(([e, y, x, b, n]) => [agg.exercises.names[e], y, x, b, n]);
    const gotTrends = [...agg.cellTrendEntries()].map(([e, _p, y, x, b, n]) => [agg.exercises.names[e], y, x, b, n]);
    const want = rows.map((r) => [
      r.exerciseId,
      Math.floor(r.latitude / cell),
      Math.floor(r.longitude / cell),
      Math.min(100, Math.max(0, Math.floor(r.score))),
      1,
    ]);
    expect(got.sort()).toEqual(want.sort());
    expect(gotTrends.sort()).toEqual(want.sort());
    expect(agg.rows).toBe(4);
  },
  TIMEOUT_MS,
);

// Its speed is measured in bench/ (analyzer), against Spark in the same run; here only that it is exact.
test(
  "decodes and aggregates 1,000,000 reports",
  async () => {
    const N = 1_000_000;
    const files = 4;
    const encoded = [];
    for (let f = 0; f < files; f++) encoded.push(encodeReports(reports(N / files, 100 + f, f * (N / files))));
    const t0 = performance.now();
    const agg = new ReportAggregator(0.1, PERIOD);
    for (const bytes of encoded) agg.addTable(decodeParquet(bytes));
    const ms = performance.now() - t0;
    console.log(`decoded and aggregated ${N} reports in ${ms.toFixed(0)} ms (${[...agg.cellEntries()].length} cell keys)`);
    expect(agg.rows).toBe(N);
    expect(agg.exReports.reduce((a, b) => a + b, 0)).toBe(N);
  },
  TIMEOUT_MS,
);

test(
  "incident files: finished incidents per region and outcome, and response seconds per step, from terminal events only",
  async () => {
    const t0 = Date.UTC(2026, 10, 27, 9);
    const times = (o: Partial<IncidentTimes>): IncidentTimes => ({
      openedAt: t0,
      assignedAt: null,
      acknowledgedAt: null,
      enRouteAt: null,
      onSiteAt: null,
      resolvedAt: null,
      cancelledAt: null,
      ...o,
    });
    const ev = (i: number, type: IncidentEvent["type"], region: string, t: IncidentTimes): IncidentEvent => ({
      eventId: `inc-${i}:9`,
      incidentId: `inc-${i}`,
      seq: 9,
      type,
      state: type === "resolved" || type === "cancelled" ? type : "on-site",
      at: t0,
      studentId: "s",
      patrolId: null,
      alertId: "a",
      exerciseId: "ex",
      lowestScore: 1,
      orders: 1,
      region,
      latitude: 48,
      longitude: 2,
      times: t,
      note: "",
      actor: "dispatch",
    });
    const events = [
      ev(1, "resolved", "Bretagne", times({ acknowledgedAt: t0 + 999, onSiteAt: t0 + 1000, resolvedAt: t0 + 61_500 })), // 0 s, 1 s, 61 s
      ev(2, "resolved", "Bretagne", times({ acknowledgedAt: t0 - 500, onSiteAt: t0 + 1999, resolvedAt: t0 + 61_000 })), // a clock behind: 0 s
      ev(3, "cancelled", "Bretagne", times({ acknowledgedAt: t0 + 5000, cancelledAt: t0 + 9000 })), // acknowledge only
      ev(4, "cancelled", "Corse", times({ cancelledAt: t0 + 100 })), // no step reached
      ev(5, "on-site", "Corse", times({ acknowledgedAt: t0 + 5000, onSiteAt: t0 + 7000 })), // not finished: not counted
    ];
    const path = lakePath({ dataset: "incidents", topic: "incident-events", partition: 0, firstOffset: 0, lastOffset: events.length - 1 }, t0);
    await lake.write(path, encodeIncidentEvents(events.map((e, i) => lakeIncidentEvent(e, 0, i))));
    const engine = new ArrowAnalyticsEngine({ lake, warehouse: w });
    expect(await engine.computePartials({ runId: "run-inc", files: [], incidentFiles: [path], cellSizeDeg: 1, trendPeriodSeconds: PERIOD })).toEqual({
      rows: 0,
      incidents: { incidents: 4, responses: 7 },
    });
    expect(await w.query(`SELECT region, outcome, incidents::int AS n FROM partial_incident_totals WHERE run_id = 'run-inc' ORDER BY 1, 2`)).toEqual([
      { region: "Bretagne", outcome: "cancelled", n: 1 },
      { region: "Bretagne", outcome: "resolved", n: 2 },
      { region: "Corse", outcome: "cancelled", n: 1 },
    ]);
    expect(
      await w.query(`SELECT region, step, seconds::int AS s, incidents::int AS n FROM partial_response_histogram WHERE run_id = 'run-inc' ORDER BY 1, 2, 3`),
    ).toEqual([
      { region: "Bretagne", step: "acknowledge", s: 0, n: 2 },
      { region: "Bretagne", step: "acknowledge", s: 5, n: 1 },
      { region: "Bretagne", step: "onSite", s: 1, n: 2 },
      { region: "Bretagne", step: "resolve", s: 61, n: 2 },
    ]);
  },
  TIMEOUT_MS,
);
