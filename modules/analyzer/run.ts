import { LAKE_DIRS } from "../../src/domain/lake-layout.ts";
import type { AnalyticsEngine } from "../../src/ports/analytics-engine.ts";
import type { Lake } from "../../src/ports/lake.ts";
import type { Warehouse } from "../../src/ports/warehouse.ts";
import { checkCellSize, cleanupLeftovers, merge } from "./merge.ts";
import type { RunLog } from "./run-log.ts";

export interface RunSummary {
  runId: string;
  engine: string;
  files: number;
  rows: number;
  durationMs: number;
  outcome: "succeeded" | "failed";
  error?: string;
}

export type RunKind = "run" | "rebuild";

export interface RunContext {
  lake: Lake;
  warehouse: Warehouse;
  engine: AnalyticsEngine;
  cellSizeDeg: number;
  runs: RunLog;
}

/** One run; `rebuild` recounts every file and replaces the cumulative tables in the merge transaction. */
export async function runOnce(c: RunContext, what: RunKind): Promise<RunSummary> {
  const { warehouse: w, engine, cellSizeDeg, runs } = c;
  const runId = newRunId();
  const t0 = performance.now();
  const startedAt = new Date();
  const finishedAt = () => new Date(startedAt.getTime() + Math.round(performance.now() - t0)).toISOString();
  let files: string[] = [];
  let rows = 0;
  let begun = false;
  const summary = (outcome: RunSummary["outcome"], error?: string): RunSummary => ({
    runId,
    engine: engine.engine,
    files: files.length,
    rows,
    durationMs: Math.round(performance.now() - t0),
    outcome,
    ...(error !== undefined ? { error } : {}),
  });
  try {
    await runs.recordFailures();
    await cleanupLeftovers(w);
    await runs.begin(runId, engine.engine, startedAt);
    begun = true;
    if (what === "run") await checkCellSize(w, cellSizeDeg, false);
    files = await filesToCount(c, what);
    if (files.length === 0 && what === "run") {
      await runs.succeeded(runId, finishedAt());
      return summary("succeeded");
    }
    if (files.length > 0) rows = (await engine.computePartials({ runId, files, cellSizeDeg })).rows;
    await w.transaction((tx) => merge(tx, { runId, files, totals: { reports: rows }, cellSizeDeg, rebuild: what === "rebuild", finishedAt }));
    return summary("succeeded");
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    await runs.failed(runId, begun, { finishedAt: finishedAt(), files: files.length, rows, error });
    return summary("failed", error);
  }
}

/** The lake files a run reads: every one for a rebuild, else those not counted yet. */
async function filesToCount(c: RunContext, what: RunKind): Promise<string[]> {
  const listed = (await c.lake.list(`${LAKE_DIRS.reports}/`)).map((f) => f.path).filter((p) => p.endsWith(".parquet"));
  if (what === "rebuild") return listed;
  const fresh = await c.warehouse.query<{ path: string }>(
    `SELECT u.path FROM unnest($1::text[]) AS u(path)
     WHERE NOT EXISTS (SELECT 1 FROM lake_files_counted c WHERE c.path = u.path)`,
    [listed],
  );
  return fresh.map((r) => r.path).sort(byCodeUnits);
}

function newRunId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `run-${t}-${crypto.randomUUID().slice(0, 8)}`;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
