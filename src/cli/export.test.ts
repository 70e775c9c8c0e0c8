import { afterAll, expect, test } from "bun:test";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exerciseStats, hotspots, regionStats, responseTimes, startAnalyzer, trends } from "../../modules/analyzer/index.ts";
import { clusteredReports } from "../../tests/support/lake-fixture.ts";
import { ArrowAnalyticsEngine } from "../adapters/embedded/arrow-engine.ts";
import { LocalLake } from "../adapters/embedded/local-lake.ts";
import { PgliteWarehouse } from "../adapters/embedded/pglite-warehouse.ts";
import { lakePath } from "../domain/lake-layout.ts";
import type { ThresholdSnapshot } from "../domain/threshold.ts";
import { decodeParquet, encodeReports } from "../formats/parquet.ts";
import { migrate } from "../warehouse/migrate.ts";
import { parseCommandLine, UsageError } from "./commands.ts";
import { parseExportCommand, readTable, runExportCommand } from "./export.ts";

const dir = await mkdtemp(join(tmpdir(), "acu-export-"));
const w = await PgliteWarehouse.open(join(dir, "pg"));
afterAll(async () => {
  await w.close();
  await rm(dir, { recursive: true, force: true });
});
await migrate(w);
const lake = new LocalLake(join(dir, "lake"));
const rows = clusteredReports(3000, 4).map((r, i) => ({ ...r, partition: 0, offset: i }));
await lake.write(
  lakePath({ dataset: "reports", topic: "student-reports", partition: 0, firstOffset: 0, lastOffset: rows.length - 1 }, Date.UTC(2026, 10, 27)),
  encodeReports(rows),
);
const analyzer = await startAnalyzer({ lake, warehouse: w, engine: new ArrowAnalyticsEngine({ lake, warehouse: w }), cellSizeDeg: 0.5, schedule: null });
expect((await analyzer.runNow()).outcome).toBe("succeeded");
await analyzer.stop();
const snap: ThresholdSnapshot = { defaultThreshold: 50, thresholds: {}, revision: 1 };
const deps = { warehouse: w, thresholds: snap, cellSizeDeg: 0.5 };
const parse = (...args: string[]) => parseExportCommand(parseCommandLine(["export", ...args]));

test("acu export writes every row of a table, in CSV or Parquet, equal to the API's answers", async () => {
  const exercises = (await exerciseStats(w, snap)).exercises;
  expect(exercises.length).toBeGreaterThan(1);
  const csvFile = join(dir, "ex.csv");
  const said: string[] = [];
  await runExportCommand(
    deps,
    parse("--table", "exercises", "--out", csvFile),
    (l) => said.push(l),
    () => {},
  );
  const lines = (await readFile(csvFile, "utf8")).trimEnd().split("\r\n");
  expect(lines[0]).toBe("exerciseId,reports,averageScore,failures,threshold,asOf,window,windowFrom");
  expect(lines.slice(1).map((l) => l.split(",").slice(0, 5))).toEqual(
    exercises.map((e) => [e.exerciseId, String(e.reports), String(e.averageScore), String(e.failures), String(e.threshold)]),
  );
  expect(said).toEqual([`wrote ${exercises.length} row(s) of exercises to ${csvFile} (csv)`]);

  // Regions: one row per (exercise, region); Parquet keeps the values and the nulls.
  const pq = join(dir, "regions.parquet");
  await runExportCommand(
    deps,
    parse("--table", "regions", "--format", "parquet", "--out", pq),
    () => {},
    () => {},
  );
  const table = decodeParquet(new Uint8Array(await readFile(pq)));
  const got = table.toArray().map((r) => ({ ...r.toJSON() }));
  const want = [];
  for (const e of exercises)
    for (const r of (await regionStats(w, snap, e.exerciseId)).regions) want.push({ exerciseId: e.exerciseId, ...r, window: "all", windowFrom: null });
  expect(got).toEqual(want);
  expect(got.length).toBeGreaterThan(exercises.length);

  // Hotspots: every failing cell of every exercise, not the API's top 20.
  const cells = [];
  for (const e of exercises) cells.push(...(await hotspots(w, snap, e.exerciseId, 1_000_000, 0.5)).cells);
  expect((await readTable(deps, { table: "hotspots", exercise: null })).rows.length).toBe(cells.length);
  const one = await readTable(deps, { table: "hotspots", exercise: exercises[0]!.exerciseId });
  expect(new Set(one.rows.map((r) => r[0]))).toEqual(new Set([exercises[0]!.exerciseId]));

  // Trends: a row per exercise and hour (or day) with reports, equal to the API's buckets of that exercise.
  for (const bucket of ["hour", "day"] as const) {
    const tr = await readTable(deps, { table: "trends", exercise: null, bucket });
    expect(tr.rows.reduce((n, r) => n + (r[4] as number), 0)).toBe(rows.length);
    for (const e of exercises) {
      const api = await trends(w, snap, {
        exerciseId: e.exerciseId,
        region: null,
        fromMs: Date.UTC(2026, 10, 26),
        toMs: Date.UTC(2026, 10, 29),
        bucket,
        nowMs: Date.now(),
      });
      const mine = tr.rows.filter((r) => r[0] === e.exerciseId).map((r) => [r[3], r[4], r[5], r[6], r[7], r[8]]);
      expect(mine).toEqual(api.buckets.filter((b) => b.reports > 0).map((b) => [b.start, b.reports, b.averageScore, b.failures, b.successRate, api.threshold]));
      expect(mine.length).toBeGreaterThan(0);
    }
  }

  const rt = await readTable(deps, { table: "response-times", exercise: null });
  expect(rt.rows.length).toBe((await responseTimes(w)).regions.length);

  let out = "";
  await runExportCommand(
    deps,
    parse("--table", "exercises", "--out", "-"),
    () => {},
    (t) => (out += t),
  );
  expect(out).toBe(await readFile(csvFile, "utf8"));
});

test("acu export into a pipe writes to it instead of renaming a file over it", async () => {
  const fifo = join(dir, "out.fifo");
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  const reader = Bun.spawn(["cat", fifo], { stdout: "pipe" });
  const said: string[] = [];
  await runExportCommand(
    deps,
    parse("--table", "exercises", "--out", fifo),
    (l) => said.push(l),
    () => {},
  );
  const text = await new Response(reader.stdout).text();
  expect(await reader.exited).toBe(0);
  expect(text.split("\r\n")[0]).toBe("exerciseId,reports,averageScore,failures,threshold,asOf,window,windowFrom");
  expect(statSync(fifo).isFIFO()).toBe(true); // still the pipe, not a file renamed over it
  expect(said).toHaveLength(1);
});

test("bad export flags are usage errors naming the flag", () => {
  const cases: Array<[string[], string]> = [
    [[], "--table must be one of exercises, regions, hotspots, trends, response-times"],
    [["--table", "trend"], 'not "trend"'],
    [["--table", "trends", "--bucket", "week"], '--bucket must be hour or day, not "week"'],
    [["--table", "regions", "--bucket", "day"], "--bucket is for trends"],
    [["--table", "regions", "--format", "xlsx"], '--format must be csv or parquet, not "xlsx"'],
    [["--table", "regions", "--format", "parquet", "--out", "-"], "csv only"],
    [["--table", "regions", "--exercise", "a b"], "--exercise must be"],
    [["--table", "exercises", "--exercise", "e1"], "--exercise is for regions, hotspots and trends"],
  ];
  for (const [args, message] of cases) {
    expect(() => parse(...args)).toThrow(UsageError);
    expect(() => parse(...args)).toThrow(message);
  }
  expect(parse("--table", "hotspots")).toEqual({ table: "hotspots", format: "csv", out: "acu-hotspots.csv", exercise: null });
  expect(parse("--table", "trends", "--bucket", "day", "--exercise", "e1")).toEqual({
    table: "trends",
    format: "csv",
    out: "acu-trends.csv",
    exercise: "e1",
    bucket: "day",
  });
});
