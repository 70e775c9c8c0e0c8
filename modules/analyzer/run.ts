import { LAKE_DIRS, parseLakePath, type LakeDataset } from "../../src/domain/lake-layout.ts";
import type { AnalyticsEngine, PartialsRequest } from "../../src/ports/analytics-engine.ts";
import { TOPICS } from "../../src/ports/bus.ts";
import type { Lake } from "../../src/ports/lake.ts";
import type { SqlRunner, Warehouse } from "../../src/ports/warehouse.ts";
import { checkPinned, cleanupLeftovers, merge, type EngineTotals } from "./merge.ts";
import type { RunLog } from "./run-log.ts";
import { recordThresholdChanges } from "./threshold-log.ts";
import type { ThresholdSnapshot } from "../../src/domain/threshold.ts";

export interface RunSummary {
  runId: string;
  engine: string;
  files: number;
  /** Reports read. */
  rows: number;
  /** Finished incidents counted (their terminal events). */
  incidents: number;
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
  trendPeriodSeconds: number;
  runs: RunLog;
  /** The thresholds now, recorded when they changed (threshold-log.ts); none: not recorded. */
  thresholds?: () => Promise<ThresholdSnapshot>;
  /** Told what each run finds counted and counts, for the backlog gauge; none: not told. */
  counted?: CountedFiles;
}

/** One run; `rebuild` recounts every file and replaces the cumulative tables in the merge transaction. */
export async function runOnce(c: RunContext, what: RunKind): Promise<RunSummary> {
  const { warehouse: w, engine, cellSizeDeg, trendPeriodSeconds, runs } = c;
  const runId = newRunId();
  const t0 = performance.now();
  const startedAt = new Date();
  const finishedAt = () => new Date(startedAt.getTime() + Math.round(performance.now() - t0)).toISOString();
  let files: string[] = [];
  let rows = 0;
  let incidents = 0;
  let begun = false;
  const summary = (outcome: RunSummary["outcome"], error?: string): RunSummary => ({
    runId,
    engine: engine.engine,
    files: files.length,
    rows,
    incidents,
    durationMs: Math.round(performance.now() - t0),
    outcome,
    ...(error !== undefined ? { error } : {}),
  });
  try {
    await runs.recordFailures();
    await cleanupLeftovers(w);
    await runs.begin(runId, engine.engine, startedAt);
    begun = true;
    if (what === "run") await checkPinned(w, c, false);
    if (c.thresholds) await recordThresholdChanges(w, await c.thresholds(), startedAt);
    files = await filesToCount(c, what);
    if (files.length === 0 && what === "run") {
      await runs.succeeded(runId, finishedAt());
      return summary("succeeded");
    }
    const totals =
      files.length > 0 ? await computePartials(engine, { runId, files, cellSizeDeg, trendPeriodSeconds }) : { reports: 0, incidents: 0, responses: 0 };
    rows = totals.reports;
    incidents = totals.incidents;
    await w.transaction((tx) => merge(tx, { runId, files, totals, cellSizeDeg, trendPeriodSeconds, rebuild: what === "rebuild", finishedAt }));
    c.counted?.add(files);
    return summary("succeeded");
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    await runs.failed(runId, begun, { finishedAt: finishedAt(), files: files.length, rows, error });
    return summary("failed", error);
  }
}

/** The engine's partials of the run's files, report and incident files apart; what it says it read. */
async function computePartials(engine: AnalyticsEngine, req: PartialsRequest): Promise<EngineTotals> {
  const { files } = req;
  const incidentFiles = files.filter((f) => f.startsWith(`${LAKE_DIRS.incidents}/`));
  const reportFiles = files.filter((f) => f.startsWith(`${LAKE_DIRS.reports}/`));
  const res = await engine.computePartials(incidentFiles.length > 0 ? { ...req, files: reportFiles, incidentFiles } : { ...req, files: reportFiles });
  if (incidentFiles.length > 0 && !res.incidents)
    throw new Error(`the ${engine.engine} engine did not count the run's ${incidentFiles.length} incident file(s)`);
  return { reports: res.rows, incidents: res.incidents?.incidents ?? 0, responses: res.incidents?.responses ?? 0 };
}

/** The datasets the analyzer counts, each with the topic its files hold. */
const COUNTED: ReadonlyArray<{ dataset: LakeDataset; topic: string }> = [
  { dataset: "reports", topic: TOPICS.reports },
  { dataset: "incidents", topic: TOPICS.incidentEvents },
];

/** The lake files a run reads: every one for a rebuild, else those not counted yet. */
async function filesToCount(c: RunContext, what: RunKind): Promise<string[]> {
  const listed = await countedDatasetFiles(c.lake);
  if (what === "rebuild") return listed;
  const fresh = await uncounted(c.warehouse, listed);
  c.counted?.learn(listed, fresh);
  return fresh;
}

/**
 * Paths of the files the sink wrote for the datasets the analyzer counts: named by the lake's layout after
 * their topic. Anything else in those folders (a Spark job writing there, its `_temporary/` attempts, a
 * copy) is not counted.
 */
async function countedDatasetFiles(lake: Lake): Promise<string[]> {
  const listed: string[] = [];
  for (const { dataset, topic } of COUNTED)
    for (const f of await lake.list(`${LAKE_DIRS[dataset]}/`)) {
      const n = parseLakePath(f.path);
      if (n?.dataset === dataset && n.topic === topic) listed.push(f.path);
    }
  return listed;
}

/** Those of `listed` no run has counted yet, sorted. */
async function uncounted(w: SqlRunner, listed: string[]): Promise<string[]> {
  const fresh = await w.query<{ path: string }>(
    `SELECT u.path FROM unnest($1::text[]) AS u(path)
     WHERE NOT EXISTS (SELECT 1 FROM lake_files_counted c WHERE c.path = u.path)`,
    [listed],
  );
  return fresh.map((r) => r.path).sort(byCodeUnits);
}

/** Records in lake files not counted yet, by the offsets their names carry (a file: one contiguous run of offsets). */
export async function backlog(lake: Lake, w: SqlRunner, counted?: CountedFiles): Promise<number> {
  const listed = await countedDatasetFiles(lake);
  let fresh: string[];
  if (counted && !counted.stale()) fresh = counted.notCounted(listed);
  else {
    fresh = await uncounted(w, listed);
    counted?.learn(listed, fresh);
  }
  let n = 0;
  for (const path of fresh) {
    const f = parseLakePath(path);
    if (f) n += f.lastOffset - f.firstOffset + 1;
  }
  return n;
}

/**
 * The lake files known to be counted, as of the last look at the warehouse: the backlog gauge, measured
 * every 15 s, asks the warehouse only when that look is older than `refreshMs`, so it does not reopen an
 * embedded warehouse closed between runs (on-demand-warehouse.ts). Each run looks (the files it counts are
 * added), so with runs every minute the gauge asks nothing; a file another process counted since (several
 * analyzers on one PostgreSQL) is in the gauge until this process looks again, `refreshMs` at most.
 */
export class CountedFiles {
  private known = new Set<string>();
  private learnedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly refreshMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  stale(): boolean {
    return this.now() - this.learnedAt > this.refreshMs;
  }

  /** The warehouse was asked: of `listed`, those in `fresh` are not counted, the others are. */
  learn(listed: readonly string[], fresh: readonly string[]): void {
    const notYet = new Set(fresh);
    this.known = new Set(listed.filter((p) => !notYet.has(p)));
    this.learnedAt = this.now();
  }

  /** A run counted these (merged). */
  add(files: readonly string[]): void {
    for (const f of files) this.known.add(f);
  }

  notCounted(listed: readonly string[]): string[] {
    return listed.filter((p) => !this.known.has(p));
  }
}

function newRunId(): string {
  const t = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `run-${t}-${crypto.randomUUID().slice(0, 8)}`;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
