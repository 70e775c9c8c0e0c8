import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { exerciseStats, hotspots, recentRuns, regionStats, runsPage, startAnalyzer, type Analyzer } from "../../../modules/analyzer/index.ts";
import { lakePath } from "../../domain/lake-layout.ts";
import type { ThresholdSnapshot } from "../../domain/threshold.ts";
import { encodeReports, type LakeReport } from "../../formats/parquet.ts";
import type { Warehouse } from "../../ports/warehouse.ts";
import { migrate } from "../../warehouse/migrate.ts";
import { ArrowAnalyticsEngine } from "../embedded/arrow-engine.ts";
import { LocalLake } from "../embedded/local-lake.ts";
import { PgliteWarehouse } from "../embedded/pglite-warehouse.ts";
import { PostgresWarehouse } from "./postgres-warehouse.ts";
import { clusteredReports } from "../../../tests/support/lake-fixture.ts";

/**
 * The analyzer end to end on PostgreSQL: the same lake analysed into PGlite and into PostgreSQL gives the
 * same answers to the read queries. Needs ACU_DATABASE_URL; works in a schema of its own, dropped at the end.
 */
const URL_ = process.env.ACU_DATABASE_URL ?? "";
if (!URL_) console.log("postgres-analyzer.test.ts: skipped, ACU_DATABASE_URL is not set (postgres://user:password@host:port/db)");

const TIMEOUT_MS = 60_000;
const SCHEMA = `t_${Date.now().toString(36)}_${crypto.randomUUID().slice(0, 8)}`;

const reports = clusteredReports;

const snap = (defaultThreshold: number, thresholds: Record<string, number> = {}, revision = 1): ThresholdSnapshot => ({
  defaultThreshold,
  thresholds,
  revision,
});

const SNAPSHOTS = [snap(50), snap(30, { ex1: 70, ex3: 0 }), snap(100, { ex2: 10 }), snap(0)];

/** Every answer of the read side for a few threshold snapshots, without the run ids and times. */
async function answers(w: Warehouse, cellSizeDeg: number) {
  const out: unknown[] = [];
  for (const s of SNAPSHOTS) {
    const e = await exerciseStats(w, s);
    out.push({ exercises: e.exercises, hasAsOf: e.asOf !== null });
    for (const ex of ["ex0", "ex1", "ex2", "ex3", "nobody"]) out.push(await hotspots(w, s, ex, 50, cellSizeDeg));
    out.push(await regionStats(w, s));
    out.push(await regionStats(w, s, "ex2"));
  }
  out.push((await recentRuns(w, 100)).map((r) => ({ engine: r.engine, files: r.files, rows: r.rows, outcome: r.outcome, error: r.error })));
  // The pages too: the same order and cut on both engines (exercise ids by code units, runs newest first).
  for (const limit of [1, 3]) {
    const pages: unknown[] = [];
    let cursor: string | null = null;
    do {
      const p: Awaited<ReturnType<typeof exerciseStats>> = await exerciseStats(w, SNAPSHOTS[1]!, { limit, cursor });
      pages.push(p.exercises);
      cursor = p.nextCursor;
    } while (cursor !== null);
    out.push(pages);
    const runs: unknown[] = [];
    let before: string | null = null;
    do {
      const p: Awaited<ReturnType<typeof runsPage>> = await runsPage(w, { limit, cursor: before });
      runs.push(p!.runs.map((r) => r.files));
      before = p!.nextCursor;
    } while (before !== null);
    out.push(runs);
  }
  return out;
}

describe.skipIf(!URL_)("analyzer on PostgreSQL", () => {
  let dir: string;
  let admin: postgres.Sql;
  let lake: LocalLake;
  let pg: PostgresWarehouse;
  let lite: PgliteWarehouse;
  const analyzers: Analyzer[] = [];
  let offset = 0;
  let hour = 0;
  let added = 0;

  const addFile = async (rows: LakeReport[]) => {
    const withOffsets = rows.map((r, i) => ({ ...r, partition: 0, offset: offset + i }));
    const path = lakePath(
      { dataset: "reports", topic: "student-reports", partition: 0, firstOffset: offset, lastOffset: offset + rows.length - 1 },
      Date.UTC(2026, 10, 27, hour++ % 24),
    );
    await lake.write(path, encodeReports(withOffsets));
    offset += rows.length;
    added += rows.length;
  };
  const start = async (w: Warehouse, cellSizeDeg: number) => {
    const a = await startAnalyzer({ lake, warehouse: w, engine: new ArrowAnalyticsEngine({ lake, warehouse: w }), cellSizeDeg, schedule: null });
    analyzers.push(a);
    return a;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "acu-pg-analyzer-"));
    lake = new LocalLake(join(dir, "lake"));
    admin = postgres(URL_, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE SCHEMA ${SCHEMA}`);
    pg = await PostgresWarehouse.open(URL_, { connection: { search_path: SCHEMA } });
    lite = await PgliteWarehouse.open(join(dir, "pglite"));
    await migrate(pg);
    await migrate(lite);
  }, TIMEOUT_MS);

  afterAll(async () => {
    for (const a of analyzers) await a.stop().catch(() => {});
    await pg?.close();
    await lite?.close();
    await admin?.unsafe(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await admin?.end({ timeout: 5 });
    await rm(dir, { recursive: true, force: true });
  }, TIMEOUT_MS);

  test(
    "incremental runs, then a rebuild with another cell size: the same answers as on PGlite",
    async () => {
      const onPg = await start(pg, 1);
      const onLite = await start(lite, 1);
      expect(await onPg.runNow()).toMatchObject({ outcome: "succeeded", files: 0 });
      await onLite.runNow();

      await addFile(reports(700, 1));
      await addFile(reports(500, 2));
      const r1 = await onPg.runNow();
      expect(r1).toMatchObject({ outcome: "succeeded", files: 2, rows: 1200, engine: "embedded" });
      expect(await onLite.runNow()).toMatchObject({ outcome: "succeeded", files: 2, rows: 1200 });
      expect(await answers(pg, 1)).toEqual(await answers(lite, 1));

      await addFile(reports(300, 3));
      await addFile(reports(900, 4));
      expect(await onPg.runNow()).toMatchObject({ outcome: "succeeded", files: 2, rows: 1200 });
      await onLite.runNow();
      const a = await answers(pg, 1);
      expect(a).toEqual(await answers(lite, 1));
      // And the answers are not trivially empty.
      const stats = await exerciseStats(pg, snap(50));
      expect(stats.exercises.map((e) => e.exerciseId)).toEqual(["ex0", "ex1", "ex2", "ex3"]);
      expect(stats.exercises.reduce((n, e) => n + e.reports, 0)).toBe(added);
      expect(stats.asOf).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect((await hotspots(pg, snap(50), "ex1", 5, 1)).cells.length).toBe(5);

      // A changed cell size is refused on both, until a rebuild.
      const finePg = await start(pg, 0.25);
      const fineLite = await start(lite, 0.25);
      await addFile(reports(250, 5));
      const refused = await finePg.runNow();
      expect(refused.outcome).toBe("failed");
      expect(refused.error).toMatch(/cell size changed.*1°.*0\.25°.*rebuild/);
      expect((await fineLite.runNow()).error).toBe(refused.error);
      expect(await finePg.rebuild()).toMatchObject({ outcome: "succeeded", files: 5, rows: added });
      await fineLite.rebuild();
      expect(await answers(pg, 0.25)).toEqual(await answers(lite, 0.25));
    },
    TIMEOUT_MS,
  );

  test(
    "analyzers racing on one PostgreSQL count every file exactly once (the advisory lock is real here)",
    async () => {
      const cell = 0.25;
      const x = await start(pg, cell);
      const y = await start(pg, cell);
      const z = await start(pg, cell);
      for (let i = 0; i < 4; i++) await addFile(reports(400, 20 + i));
      const results = await Promise.all([x.runNow(), y.runNow(), z.runNow(), x.runNow(), y.runNow(), z.runNow()]);
      // Losers of a race fail cleanly ("already counted … nothing merged"); the rows of every file are added once.
      expect(results.filter((r) => r.outcome === "succeeded").reduce((n, r) => n + r.rows, 0)).toBe(1600);
      expect(results.filter((r) => r.outcome === "succeeded" && r.files > 0).map((r) => r.files)).toEqual([4]);
      for (const r of results.filter((r) => r.outcome === "failed")) expect(r.error).toMatch(/already counted|no longer running/);
      const lite2 = await start(lite, cell);
      expect(await lite2.runNow()).toMatchObject({ outcome: "succeeded", files: 4, rows: 1600 });
      const [pgTotals, liteTotals] = await Promise.all(
        [pg, lite].map(async (w) => {
          const e = await exerciseStats(w, snap(50));
          return e.exercises;
        }),
      );
      expect(pgTotals).toEqual(liteTotals!);
      for (const s of SNAPSHOTS) {
        expect(await regionStats(pg, s)).toEqual(await regionStats(lite, s));
        expect(await hotspots(pg, s, "ex0", 100, cell)).toEqual(await hotspots(lite, s, "ex0", 100, cell));
      }
      const leftovers = await pg.query<{ n: number }>(
        `SELECT ((SELECT count(*) FROM partial_exercise_totals) + (SELECT count(*) FROM partial_cell_histogram) + (SELECT count(*) FROM partial_region_histogram)) AS n`,
      );
      expect(leftovers).toEqual([{ n: 0 }]);
    },
    TIMEOUT_MS,
  );
});
