import { makeVector, type Data, type Table } from "apache-arrow";
import { decodeParquet } from "../../formats/parquet.ts";
import type { AnalyticsEngine, PartialsRequest, PartialsResult } from "../../ports/analytics-engine.ts";
import type { Lake } from "../../ports/lake.ts";
import type { SqlRunner, Warehouse } from "../../ports/warehouse.ts";
import { IncidentAggregator } from "./incident-aggregator.ts";
import { isTrendPeriod, TREND_PERIOD_RULE } from "../../domain/trend-period.ts";

/**
 * Rows per INSERT … SELECT FROM unnest(…): large statements, bounded parameter size. Each chunk's
 * parameters (the row arrays and their text for the driver) are garbage once it is sent, which Bun's
 * collector, left alone, keeps to the end of the run: a collection is asked for after each chunk (measured,
 * 120,000 reports' partials on PGlite: RSS after the write 477 → 311 MiB; 50,000-row chunks with no
 * collection, as before, kept it all whatever the chunk size).
 */
const INSERT_CHUNK = 10_000;
const BUCKETS = 101;

/**
 * The analytics engine embedded in the process: reads the requested lake files with Arrow, aggregates
 * them in memory (per exercise; per exercise × grid cell × score bucket; per exercise × region × score
 * bucket; the last two also per trend period of the report's timestamp) and writes the aggregates into the partial_* tables tagged with the run id, in one transaction;
 * incident files likewise (finished incidents and their response seconds per region).
 */
export class ArrowAnalyticsEngine implements AnalyticsEngine {
  readonly engine = "embedded";
  private readonly lake: Lake;
  private readonly warehouse: Warehouse;

  constructor(deps: { lake: Lake; warehouse: Warehouse }) {
    this.lake = deps.lake;
    this.warehouse = deps.warehouse;
  }

  async computePartials(req: PartialsRequest): Promise<PartialsResult> {
    if (!(Number.isFinite(req.cellSizeDeg) && req.cellSizeDeg > 0)) throw new Error(`cell size must be a positive number of degrees, got ${req.cellSizeDeg}`);
    if (!isTrendPeriod(req.trendPeriodSeconds)) throw new Error(`the trend period ${TREND_PERIOD_RULE}, got ${req.trendPeriodSeconds}`);
    const agg = new ReportAggregator(req.cellSizeDeg, req.trendPeriodSeconds);
    for (const path of req.files) agg.addTable(await this.readTable(path), path);
    const incidentFiles = req.incidentFiles ?? [];
    const incidents = new IncidentAggregator();
    for (const path of incidentFiles) incidents.addTable(await this.readTable(path), path);
    await this.warehouse.transaction(async (tx) => {
      await writePartials(tx, req.runId, agg);
      await incidents.writePartials(tx, req.runId);
    });
    return incidentFiles.length > 0 ? { rows: agg.rows, incidents: incidents.counted } : { rows: agg.rows };
  }

  private async readTable(path: string): Promise<Table> {
    try {
      return decodeParquet(await this.lake.read(path));
    } catch (e) {
      throw new Error(`cannot read lake file ${path}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** Interns strings straight from Arrow UTF-8 buffers: a hash of the bytes, no string built per row. */
class Interner {
  readonly names: string[] = [];
  private readonly bytes: Uint8Array[] = [];
  private readonly byHash = new Map<number, number[]>();
  private readonly byName = new Map<string, number>();
  private readonly decoder = new TextDecoder();

  internBytes(buf: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5 ^ (end - start);
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const ids = this.byHash.get(h);
    if (ids !== undefined) {
      for (const id of ids) {
        const b = this.bytes[id]!;
        if (b.length !== end - start) continue;
        let same = true;
        for (let k = 0; k < b.length; k++)
          if (b[k] !== buf[start + k]) {
            same = false;
            break;
          }
        if (same) return id;
      }
    }
    const id = this.internString(this.decoder.decode(buf.subarray(start, end)));
    if (ids !== undefined) ids.push(id);
    else this.byHash.set(h, [id]);
    return id;
  }

  internString(s: string): number {
    let id = this.byName.get(s);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(s);
      this.bytes.push(new TextEncoder().encode(s));
      this.byName.set(s, id);
    }
    return id;
  }
}

/** Per-row ids of a string column chunk; -1 for a null. */
function internColumn(data: Data, interner: Interner): Int32Array {
  const n = data.length;
  const ids = new Int32Array(n);
  const offsets = data.valueOffsets as Int32Array | BigInt64Array | undefined;
  const values = data.values as unknown;
  if (offsets && values instanceof Uint8Array && (offsets instanceof Int32Array || offsets instanceof BigInt64Array)) {
    const big = offsets instanceof BigInt64Array;
    for (let i = 0; i < n; i++) {
      if (data.nullCount > 0 && !data.getValid(i)) {
        ids[i] = -1;
        continue;
      }
      const s = big ? Number(offsets[i]) : (offsets[i] as number);
      const e = big ? Number(offsets[i + 1]) : (offsets[i + 1] as number);
      ids[i] = interner.internBytes(values, s, e);
    }
    return ids;
  }
  // Dictionary-encoded or other string layouts: go through Arrow's accessor.
  const v = makeVector(data);
  for (let i = 0; i < n; i++) {
    const s = v.get(i);
    ids[i] = s === null || s === undefined ? -1 : interner.internString(String(s));
  }
  return ids;
}

/** A numeric column chunk as float64; NaN for a null. */
function floatColumn(data: Data): Float64Array {
  const values = data.values as unknown;
  const n = data.length;
  let out: Float64Array;
  if (values instanceof Float64Array && data.nullCount === 0) return values.length === n ? values : values.subarray(0, n);
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) out = Float64Array.from(values.subarray(0, n), Number);
  else if (
    values instanceof Float64Array ||
    values instanceof Float32Array ||
    values instanceof Int32Array ||
    values instanceof Int16Array ||
    values instanceof Int8Array ||
    values instanceof Uint32Array ||
    values instanceof Uint16Array ||
    values instanceof Uint8Array
  )
    out = Float64Array.from(values.subarray(0, n));
  else throw new Error(`unsupported numeric column type ${String(data.type)}`);
  if (data.nullCount > 0) for (let i = 0; i < data.length; i++) if (!data.getValid(i)) out[i] = NaN;
  return out;
}

/** Region ids packed into a trend key: (pid * REGION_LIMIT + region) * 101 + bucket stays a safe integer for 2^20 periods. */
const REGION_LIMIT = 65_536;

/** Dense ids of the trend periods met; the last one remembered, as a file's rows mostly share a period. */
class PeriodInterner {
  private readonly indexes: number[] = [];
  private readonly byIndex = new Map<number, number>();
  private lastIndex = Number.NaN;
  private lastId = -1;

  id(index: number): number {
    if (index === this.lastIndex) return this.lastId;
    let id = this.byIndex.get(index);
    if (id === undefined) {
      id = this.indexes.length;
      if (id >= 1 << 20) throw new Error("more than 2^20 distinct trend periods in one run");
      this.indexes.push(index);
      this.byIndex.set(index, id);
    }
    this.lastIndex = index;
    this.lastId = id;
    return id;
  }

  /** Period start in epoch seconds, by id. */
  starts(periodSeconds: number): number[] {
    return this.indexes.map((i) => i * periodSeconds);
  }
}

/** In-memory aggregates of report rows. */
export class ReportAggregator {
  rows = 0;
  /** Rows left out: a null or non-finite value (the ingest never writes such rows). */
  skipped = 0;
  readonly exercises = new Interner();
  readonly regions = new Interner();
  readonly exReports: number[] = [];
  readonly exScoreSum: number[] = [];
  /** Per exercise: packed (cell_y, cell_x, bucket) → reports. */
  readonly cells: Array<Map<number, number>> = [];
  /** Cells outside the packed range (only with absurd coordinates or tiny cells). */
  readonly cellsOther = new Map<string, number>();
  /** Per exercise: region * 101 + bucket → slot in regReports / regScoreSum. */
  readonly regionSlots: Array<Map<number, number>> = [];
  readonly regReports: number[] = [];
  readonly regScoreSum: number[] = [];
  /** Trend periods met, by index (floor(timestamp / period)); their numbering pid is dense. */
  readonly periods = new PeriodInterner();
  /** Per exercise: (pid * REGION_LIMIT + region) * 101 + bucket → slot in trendReports / trendScoreSum. */
  readonly trendSlots: Array<Map<number, number>> = [];
  readonly trendReports: number[] = [];
  readonly trendScoreSum: number[] = [];
  /** Per exercise, per period id: packed (cell, bucket) → reports (the key of `cells`: small integers, fast maps). */
  readonly cellTrends: Array<Array<Map<number, number>>> = [];
  readonly cellTrendsOther = new Map<string, number>();

  private readonly yMin: number;
  private readonly xMin: number;
  private readonly ySpan: number;
  private readonly xSpan: number;
  private readonly packable: boolean;
  private readonly periodMs: number;

  constructor(
    readonly cellSizeDeg: number,
    readonly trendPeriodSeconds: number,
  ) {
    this.periodMs = trendPeriodSeconds * 1000;
    this.yMin = Math.floor(-90 / cellSizeDeg) - 1;
    this.xMin = Math.floor(-180 / cellSizeDeg) - 1;
    this.ySpan = Math.floor(90 / cellSizeDeg) + 2 - this.yMin;
    this.xSpan = Math.floor(180 / cellSizeDeg) + 2 - this.xMin;
    this.packable = this.ySpan * this.xSpan * BUCKETS < Number.MAX_SAFE_INTEGER;
  }

  addTable(table: Table, source = "table"): void {
    for (const batch of table.batches) {
      const col = (name: string): Data => {
        const c = batch.getChild(name);
        if (!c) throw new Error(`${source}: column ${name} is missing`);
        return c.data[0]!;
      };
      this.addColumns(
        batch.numRows,
        internColumn(col("exerciseId"), this.exercises),
        floatColumn(col("score")),
        floatColumn(col("latitude")),
        floatColumn(col("longitude")),
        internColumn(col("region"), this.regions),
        floatColumn(col("timestamp")),
      );
    }
  }

  addColumns(n: number, ex: Int32Array, score: Float64Array, lat: Float64Array, lon: Float64Array, region: Int32Array, time: Float64Array): void {
    const cell = this.cellSizeDeg;
    const { yMin, xMin, ySpan, xSpan, packable, periodMs } = this;
    if (this.regions.names.length > REGION_LIMIT) throw new Error(`more than ${REGION_LIMIT} distinct regions in one run`);
    let rows = 0;
    for (let i = 0; i < n; i++) {
      const e = ex[i]!;
      const r = region[i]!;
      const s = score[i]!;
      const la = lat[i]!;
      const lo = lon[i]!;
      const t = time[i]!;
      if (e < 0 || r < 0 || !Number.isFinite(s) || !Number.isFinite(la) || !Number.isFinite(lo) || !Number.isFinite(t)) {
        this.skipped++;
        continue;
      }
      rows++;
      let b = Math.floor(s);
      if (b < 0) b = 0;
      else if (b > 100) b = 100;
      while (this.exReports.length <= e) {
        this.exReports.push(0);
        this.exScoreSum.push(0);
        this.cells.push(new Map());
        this.regionSlots.push(new Map());
        this.trendSlots.push(new Map());
        this.cellTrends.push([]);
      }
      const pid = this.periods.id(Math.floor(t / periodMs));
      this.exReports[e]! += 1;
      this.exScoreSum[e]! += s;

      const y = Math.floor(la / cell);
      const x = Math.floor(lo / cell);
      const yo = y - yMin;
      const xo = x - xMin;
      if (packable && yo >= 0 && yo < ySpan && xo >= 0 && xo < xSpan) {
        const m = this.cells[e]!;
        const k = (yo * xSpan + xo) * BUCKETS + b;
        m.set(k, (m.get(k) ?? 0) + 1);
        const byPeriod = this.cellTrends[e]!;
        let mt = byPeriod[pid];
        if (mt === undefined) {
          mt = new Map();
          while (byPeriod.length < pid) byPeriod.push(new Map());
          byPeriod[pid] = mt;
        }
        mt.set(k, (mt.get(k) ?? 0) + 1);
      } else {
        const k = `${e}:${y}:${x}:${b}`;
        this.cellsOther.set(k, (this.cellsOther.get(k) ?? 0) + 1);
        this.addCellTrendOther(e, pid, y, x, b);
      }

      const slots = this.regionSlots[e]!;
      const rk = r * BUCKETS + b;
      let slot = slots.get(rk);
      if (slot === undefined) {
        slot = this.regReports.length;
        slots.set(rk, slot);
        this.regReports.push(0);
        this.regScoreSum.push(0);
      }
      this.regReports[slot]! += 1;
      this.regScoreSum[slot]! += s;

      const trends = this.trendSlots[e]!;
      const tk = (pid * REGION_LIMIT + r) * BUCKETS + b;
      let ts = trends.get(tk);
      if (ts === undefined) {
        ts = this.trendReports.length;
        trends.set(tk, ts);
        this.trendReports.push(0);
        this.trendScoreSum.push(0);
      }
      this.trendReports[ts]! += 1;
      this.trendScoreSum[ts]! += s;
    }
    this.rows += rows;
  }

  private addCellTrendOther(e: number, pid: number, y: number, x: number, b: number): void {
    const k = `${e}:${pid}:${y}:${x}:${b}`;
    this.cellTrendsOther.set(k, (this.cellTrendsOther.get(k) ?? 0) + 1);
  }

  /** (exerciseIndex, regionIndex, periodStart in epoch seconds, bucket, reports, scoreSum). */
  *trendEntries(): Generator<[number, number, number, number, number, number]> {
    const starts = this.periods.starts(this.trendPeriodSeconds);
    for (let e = 0; e < this.trendSlots.length; e++) {
      for (const [tk, slot] of this.trendSlots[e]!) {
        const b = tk % BUCKETS;
        const pr = (tk - b) / BUCKETS;
        const r = pr % REGION_LIMIT;
        yield [e, r, starts[(pr - r) / REGION_LIMIT]!, b, this.trendReports[slot]!, this.trendScoreSum[slot]!];
      }
    }
  }

  /** (exerciseIndex, periodStart in epoch seconds, cell_y, cell_x, bucket, reports). */
  *cellTrendEntries(): Generator<[number, number, number, number, number, number]> {
    const { yMin, xMin, xSpan } = this;
    const starts = this.periods.starts(this.trendPeriodSeconds);
    for (let e = 0; e < this.cellTrends.length; e++) {
      const byPeriod = this.cellTrends[e]!;
      for (let pid = 0; pid < byPeriod.length; pid++)
        for (const [k, reports] of byPeriod[pid]!) {
          const b = k % BUCKETS;
          const c = (k - b) / BUCKETS;
          const xo = c % xSpan;
          yield [e, starts[pid]!, (c - xo) / xSpan + yMin, xo + xMin, b, reports];
        }
    }
    for (const [k, reports] of this.cellTrendsOther) {
      const [e, pid, y, x, b] = k.split(":").map(Number) as [number, number, number, number, number];
      yield [e, starts[pid]!, y, x, b, reports];
    }
  }

  /** (exerciseIndex, cell_y, cell_x, bucket, reports) for every non-empty histogram entry. */
  *cellEntries(): Generator<[number, number, number, number, number]> {
    const { yMin, xMin, xSpan } = this;
    for (let e = 0; e < this.cells.length; e++) {
      for (const [k, reports] of this.cells[e]!) {
        const b = k % BUCKETS;
        const c = (k - b) / BUCKETS;
        const xo = c % xSpan;
        const yo = (c - xo) / xSpan;
        yield [e, yo + yMin, xo + xMin, b, reports];
      }
    }
    for (const [k, reports] of this.cellsOther) {
      const [e, y, x, b] = k.split(":").map(Number) as [number, number, number, number];
      yield [e, y, x, b, reports];
    }
  }

  /** (exerciseIndex, regionIndex, bucket, reports, scoreSum). */
  *regionEntries(): Generator<[number, number, number, number, number]> {
    for (let e = 0; e < this.regionSlots.length; e++) {
      for (const [rk, slot] of this.regionSlots[e]!) {
        const b = rk % BUCKETS;
        yield [e, (rk - b) / BUCKETS, b, this.regReports[slot]!, this.regScoreSum[slot]!];
      }
    }
  }
}

/** One partial table: its columns after run_id and their PostgreSQL array types. */
interface PartialTable {
  name: string;
  columns: readonly string[];
  types: readonly string[];
}

const PARTIALS = {
  exercises: { name: "partial_exercise_totals", columns: ["exercise_id", "reports", "score_sum"], types: ["text", "bigint", "float8"] },
  cells: {
    name: "partial_cell_histogram",
    columns: ["exercise_id", "cell_y", "cell_x", "bucket", "reports"],
    types: ["text", "int", "int", "smallint", "bigint"],
  },
  regions: {
    name: "partial_region_histogram",
    columns: ["exercise_id", "region", "bucket", "reports", "score_sum"],
    types: ["text", "text", "smallint", "bigint", "float8"],
  },
  trends: {
    name: "partial_trend_histogram",
    columns: ["exercise_id", "region", "period_start", "bucket", "reports", "score_sum"],
    types: ["text", "text", "bigint", "smallint", "bigint", "float8"],
  },
  cellTrends: {
    name: "partial_cell_trend_histogram",
    columns: ["exercise_id", "period_start", "cell_y", "cell_x", "bucket", "reports"],
    types: ["text", "bigint", "int", "int", "smallint", "bigint"],
  },
} satisfies Record<string, PartialTable>;

/** Inserts rows into a partial table, INSERT_CHUNK rows per INSERT … SELECT FROM unnest(…). */
async function insertPartial(tx: SqlRunner, runId: string, t: PartialTable, rows: Iterable<ReadonlyArray<string | number>>): Promise<void> {
  const cols = t.columns;
  let arrays: Array<Array<string | number>> = cols.map(() => []);
  const flush = async () => {
    if (arrays[0]!.length === 0) return;
    await tx.query(
      `INSERT INTO ${t.name} (run_id, ${cols.join(", ")})
       SELECT $1, ${cols.map((c) => `u.${c}`).join(", ")}
       FROM unnest(${t.types.map((ty, i) => `$${i + 2}::${ty}[]`).join(", ")}) AS u(${cols.join(", ")})`,
      [runId, ...arrays],
    );
    arrays = cols.map(() => []);
    // Asynchronous: a hint, not a pause of the process's other roles.
    Bun.gc(false);
  };
  for (const row of rows) {
    for (let c = 0; c < cols.length; c++) arrays[c]!.push(row[c]!);
    if (arrays[0]!.length >= INSERT_CHUNK) await flush();
  }
  await flush();
}

async function writePartials(tx: SqlRunner, runId: string, agg: ReportAggregator): Promise<void> {
  const ex = agg.exercises.names;
  const reg = agg.regions.names;
  await insertPartial(tx, runId, PARTIALS.exercises, exerciseRows(agg));
  await insertPartial(
    tx,
    runId,
    PARTIALS.cells,
    mapRows(agg.cellEntries(), ([e, y, x, b, n]) => [ex[e]!, y, x, b, n]),
  );
  await insertPartial(
    tx,
    runId,
    PARTIALS.regions,
    mapRows(agg.regionEntries(), ([e, r, b, n, sum]) => [ex[e]!, reg[r]!, b, n, sum]),
  );
  await insertPartial(
    tx,
    runId,
    PARTIALS.trends,
    mapRows(agg.trendEntries(), ([e, r, p, b, n, sum]) => [ex[e]!, reg[r]!, p, b, n, sum]),
  );
  await insertPartial(
    tx,
    runId,
    PARTIALS.cellTrends,
    mapRows(agg.cellTrendEntries(), ([e, p, y, x, b, n]) => [ex[e]!, p, y, x, b, n]),
  );
}

function* exerciseRows(agg: ReportAggregator): Generator<[string, number, number]> {
  for (let e = 0; e < agg.exReports.length; e++) if (agg.exReports[e]! > 0) yield [agg.exercises.names[e]!, agg.exReports[e]!, agg.exScoreSum[e]!];
}

function* mapRows<T, U>(it: Iterable<T>, f: (t: T) => U): Generator<U> {
  for (const t of it) yield f(t);
}
