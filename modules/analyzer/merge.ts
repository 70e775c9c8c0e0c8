import type { SqlRunner } from "../../src/ports/warehouse.ts";

/** analyzer_settings key of the cell size the cumulative tables were built with. */
export const CELL_SIZE_SETTING = "cell_size_deg";
/** analyzer_settings key of the trend period (seconds) the trend tables were built with. */
export const TREND_PERIOD_SETTING = "trend_period_seconds";
/** analyzer_settings key present while the trend tables miss files counted before they existed (003_trends). */
export const TRENDS_INCOMPLETE_SETTING = "trends_incomplete";
/** Serialises merges and rebuilds across processes sharing one PostgreSQL. */
const ANALYZER_LOCK = 7_263_002;

/** What the engine says it read: each partial table must add up to one of these. */
export interface EngineTotals {
  reports: number;
  /** Finished incidents (terminal events) and response times, of the incident files. */
  incidents: number;
  responses: number;
}

/**
 * A cumulative table and the partial table an engine fills for it: per key, the partials' `sums` are
 * added to the cumulative row. `counted` is the column whose sum over a run must equal the engine's total
 * of that name (guards against a partial write).
 */
interface Accumulation {
  label: string;
  table: string;
  partial: string;
  keys: readonly string[];
  sums: readonly string[];
  counted: { column: string; total: keyof EngineTotals; unit: string };
}

const ACCUMULATIONS: readonly Accumulation[] = [
  {
    label: "exercise",
    table: "exercise_totals",
    partial: "partial_exercise_totals",
    keys: ["exercise_id"],
    sums: ["reports", "score_sum"],
    counted: { column: "reports", total: "reports", unit: "reports" },
  },
  {
    label: "cell",
    table: "cell_histogram",
    partial: "partial_cell_histogram",
    keys: ["exercise_id", "cell_y", "cell_x", "bucket"],
    sums: ["reports"],
    counted: { column: "reports", total: "reports", unit: "reports" },
  },
  {
    label: "region",
    table: "region_histogram",
    partial: "partial_region_histogram",
    keys: ["exercise_id", "region", "bucket"],
    sums: ["reports", "score_sum"],
    counted: { column: "reports", total: "reports", unit: "reports" },
  },
  {
    label: "trend",
    table: "trend_histogram",
    partial: "partial_trend_histogram",
    keys: ["exercise_id", "region", "period_start", "bucket"],
    sums: ["reports", "score_sum"],
    counted: { column: "reports", total: "reports", unit: "reports" },
  },
  {
    label: "cell trend",
    table: "cell_trend_histogram",
    partial: "partial_cell_trend_histogram",
    keys: ["exercise_id", "period_start", "cell_y", "cell_x", "bucket"],
    sums: ["reports"],
    counted: { column: "reports", total: "reports", unit: "reports" },
  },
  {
    label: "incident",
    table: "incident_totals",
    partial: "partial_incident_totals",
    keys: ["region", "outcome"],
    sums: ["incidents"],
    counted: { column: "incidents", total: "incidents", unit: "finished incidents" },
  },
  {
    label: "response",
    table: "response_histogram",
    partial: "partial_response_histogram",
    keys: ["region", "step", "seconds"],
    sums: ["incidents"],
    counted: { column: "incidents", total: "responses", unit: "response times" },
  },
];

export const PARTIAL_TABLES: readonly string[] = ACCUMULATIONS.map((a) => a.partial);
export const CUMULATIVE_TABLES: readonly string[] = ACCUMULATIONS.map((a) => a.table);

export interface MergeRequest {
  runId: string;
  files: string[];
  totals: EngineTotals;
  cellSizeDeg: number;
  trendPeriodSeconds: number;
  rebuild: boolean;
  /** ISO time recorded as the run's end. */
  finishedAt: () => string;
}

/** The run's one transaction: all of it (cumulative tables, counted files, partials gone, run succeeded) or none of it. */
export async function merge(tx: SqlRunner, m: MergeRequest): Promise<void> {
  const { runId, files } = m;
  await tx.query(`SELECT pg_advisory_xact_lock(${ANALYZER_LOCK})`);
  await tx.query(`SET LOCAL work_mem = '64MB'`);

  const run = await tx.query<{ outcome: string }>(`SELECT outcome FROM analyzer_runs WHERE run_id = $1`, [runId]);
  if (run[0]?.outcome !== "running") throw new Error(`run ${runId} is no longer running (${run[0]?.outcome ?? "missing"}); nothing merged`);
  if (m.rebuild) await restart(tx, m);
  else await checkNotCounted(tx, m);
  await checkComplete(tx, runId, m.totals);

  // Merges are serialised by the advisory lock, so no other writer adds a key in between (and the primary keys would catch it).
  for (const a of ACCUMULATIONS) await addPartials(tx, runId, a);

  if (files.length > 0)
    await tx.query(`INSERT INTO lake_files_counted (path, run_id, counted_at) SELECT u.path, $2, now() FROM unnest($1::text[]) AS u(path)`, [files, runId]);
  await deletePartials(tx, runId);
  await tx.query(`UPDATE analyzer_runs SET outcome = 'succeeded', finished_at = $2::timestamptz, files = $3, rows = $4 WHERE run_id = $1`, [
    runId,
    m.finishedAt(),
    files.length,
    m.totals.reports,
  ]);
}

/** A rebuild starts from empty tables, built with the configured cell size and trend period: the trends are whole again. */
async function restart(tx: SqlRunner, m: MergeRequest): Promise<void> {
  await tx.query(`TRUNCATE ${CUMULATIVE_TABLES.join(", ")}, lake_files_counted`);
  for (const [key, value] of [
    [CELL_SIZE_SETTING, String(m.cellSizeDeg)],
    [TREND_PERIOD_SETTING, String(m.trendPeriodSeconds)],
  ])
    await tx.query(`INSERT INTO analyzer_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [key, value]);
  await tx.query(`DELETE FROM analyzer_settings WHERE key = $1`, [TRENDS_INCOMPLETE_SETTING]);
}

async function checkNotCounted(tx: SqlRunner, m: MergeRequest): Promise<void> {
  await checkPinned(tx, m, true);
  // ON CONFLICT DO NOTHING would silently count a file twice if two runs raced: check, and the
  // primary key of lake_files_counted makes the insert of the files fail if one slipped in anyway.
  const already = await tx.query<{ path: string }>(`SELECT path FROM lake_files_counted WHERE path = ANY($1::text[]) ORDER BY path LIMIT 5`, [m.files]);
  if (already.length > 0) throw new Error(`file(s) already counted by another run, nothing merged: ${already.map((r) => r.path).join(", ")}`);
}

/** The partials must hold exactly the rows the engine read. */
async function checkComplete(tx: SqlRunner, runId: string, totals: EngineTotals): Promise<void> {
  const sums = await tx.query<{ t: string; n: number }>(
    ACCUMULATIONS.map((a) => `SELECT '${a.label}' AS t, COALESCE(sum(${a.counted.column}), 0)::float8 AS n FROM ${a.partial} WHERE run_id = $1`).join(
      " UNION ALL ",
    ),
    [runId],
  );
  for (const s of sums) {
    const a = ACCUMULATIONS.find((x) => x.label === s.t)!;
    const want = totals[a.counted.total];
    if (s.n !== want) throw new Error(`partials of run ${runId} are incomplete: ${s.t} partials hold ${s.n} ${a.counted.unit}, the engine read ${want}`);
  }
}

/** Adds a run's partials to a cumulative table: updates the keys that exist, inserts the others. */
async function addPartials(tx: SqlRunner, runId: string, a: Accumulation): Promise<void> {
  const keys = a.keys.join(", ");
  const match = a.keys.map((k) => `t.${k} = p.${k}`).join(" AND ");
  await tx.query(
    `UPDATE ${a.table} AS t SET ${a.sums.map((c) => `${c} = t.${c} + p.${c}`).join(", ")}
     FROM (SELECT ${keys}, ${a.sums.map((c) => `sum(${c}) AS ${c}`).join(", ")}
           FROM ${a.partial} WHERE run_id = $1 GROUP BY ${keys}) AS p
     WHERE ${match}`,
    [runId],
  );
  await tx.query(
    `INSERT INTO ${a.table} (${keys}, ${a.sums.join(", ")})
     SELECT ${a.keys.map((k) => `p.${k}`).join(", ")}, ${a.sums.map((c) => `sum(p.${c})`).join(", ")} FROM ${a.partial} AS p
     WHERE p.run_id = $1 AND NOT EXISTS (SELECT 1 FROM ${a.table} AS t WHERE ${match})
     GROUP BY ${a.keys.map((k) => `p.${k}`).join(", ")}`,
    [runId],
  );
}

/** What the tables were built with; a run configured otherwise is refused until a rebuild. */
export interface PinnedSettings {
  cellSizeDeg: number;
  trendPeriodSeconds: number;
}

/**
 * Refuses to add to tables built with another cell size or trend period. The first merge records them
 * (`record`, inside the merge transaction); before that any value is accepted.
 */
export async function checkPinned(r: SqlRunner, p: PinnedSettings, record: boolean): Promise<void> {
  const pins = [
    { key: CELL_SIZE_SETTING, value: p.cellSizeDeg, what: "cell size", unit: "° cells", env: "ACU_CELL_SIZE_DEG" },
    { key: TREND_PERIOD_SETTING, value: p.trendPeriodSeconds, what: "trend period", unit: " s periods", env: "ACU_TREND_PERIOD_SECONDS" },
  ];
  for (const pin of pins) {
    if (record) await r.query(`INSERT INTO analyzer_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [pin.key, String(pin.value)]);
    const rows = await r.query<{ value: string }>(`SELECT value FROM analyzer_settings WHERE key = $1`, [pin.key]);
    if (rows.length === 0) continue;
    const stored = rows[0]!.value;
    if (Number(stored) !== pin.value)
      throw new Error(
        `${pin.what} changed: the warehouse was built with ${stored}${pin.unit} but the analyzer is configured with ${pin.value}${pin.unit} (${pin.env}); ` +
          `run a rebuild to recount the lake with the new value (or configure ${stored} again)`,
      );
  }
}

/** Partials of runs that are not running (failed, interrupted, or unknown ids) are leftovers. */
export async function cleanupLeftovers(w: SqlRunner): Promise<void> {
  for (const t of PARTIAL_TABLES)
    await w.query(`DELETE FROM ${t} AS p WHERE NOT EXISTS (SELECT 1 FROM analyzer_runs AS r WHERE r.run_id = p.run_id AND r.outcome = 'running')`);
}

export async function deletePartials(r: SqlRunner, runId: string): Promise<void> {
  for (const t of PARTIAL_TABLES) await r.query(`DELETE FROM ${t} WHERE run_id = $1`, [runId]);
}
