import { makeVector, type Data, type Table } from "apache-arrow";
import { decodeParquet } from "../../formats/parquet.ts";
import type { AnalyticsEngine, PartialsRequest, PartialsResult } from "../../ports/analytics-engine.ts";
import type { Lake } from "../../ports/lake.ts";
import type { SqlRunner, Warehouse } from "../../ports/warehouse.ts";
import { IncidentAggregator } from "./incident-aggregator.ts";

/** Rows per INSERT … SELECT FROM unnest(…): large statements, bounded parameter size. */
const INSERT_CHUNK = 50_000;
const BUCKETS = 101;

/**
 * The analytics engine embedded in the process: reads the requested lake files with Arrow, aggregates
 * them in memory (per exercise; per exercise × grid cell × score bucket; per exercise × region × score
 * bucket) and writes the aggregates into the partial_* tables tagged with the run id, in one transaction;
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
    const agg = new ReportAggregator(req.cellSizeDeg);
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

  private readonly yMin: number;
  private readonly xMin: number;
  private readonly ySpan: number;
  private readonly xSpan: number;
  private readonly packable: boolean;

  constructor(readonly cellSizeDeg: number) {
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
      );
    }
  }

  addColumns(n: number, ex: Int32Array, score: Float64Array, lat: Float64Array, lon: Float64Array, region: Int32Array): void {
    const cell = this.cellSizeDeg;
    const { yMin, xMin, ySpan, xSpan, packable } = this;
    let rows = 0;
    for (let i = 0; i < n; i++) {
      const e = ex[i]!;
      const r = region[i]!;
      const s = score[i]!;
      const la = lat[i]!;
      const lo = lon[i]!;
      if (e < 0 || r < 0 || !Number.isFinite(s) || !Number.isFinite(la) || !Number.isFinite(lo)) {
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
      }
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
      } else {
        const k = `${e}:${y}:${x}:${b}`;
        this.cellsOther.set(k, (this.cellsOther.get(k) ?? 0) + 1);
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
    }
    this.rows += rows;
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

async function writePartials(tx: SqlRunner, runId: string, agg: ReportAggregator): Promise<void> {
  const exNames = agg.exercises.names;
  const regNames = agg.regions.names;

  const exIds: string[] = [];
  const exReports: number[] = [];
  const exSums: number[] = [];
  for (let e = 0; e < agg.exReports.length; e++) {
    if (agg.exReports[e] === 0) continue;
    exIds.push(exNames[e]!);
    exReports.push(agg.exReports[e]!);
    exSums.push(agg.exScoreSum[e]!);
  }
  for (let o = 0; o < exIds.length; o += INSERT_CHUNK) {
    await tx.query(
      `INSERT INTO partial_exercise_totals (run_id, exercise_id, reports, score_sum)
       SELECT $1, u.exercise_id, u.reports, u.score_sum FROM unnest($2::text[], $3::bigint[], $4::float8[]) AS u(exercise_id, reports, score_sum)`,
      [runId, exIds.slice(o, o + INSERT_CHUNK), exReports.slice(o, o + INSERT_CHUNK), exSums.slice(o, o + INSERT_CHUNK)],
    );
  }

  let cEx: string[] = [],
    cY: number[] = [],
    cX: number[] = [],
    cB: number[] = [],
    cR: number[] = [];
  const flushCells = async () => {
    if (cEx.length === 0) return;
    await tx.query(
      `INSERT INTO partial_cell_histogram (run_id, exercise_id, cell_y, cell_x, bucket, reports)
       SELECT $1, u.exercise_id, u.cell_y, u.cell_x, u.bucket, u.reports
       FROM unnest($2::text[], $3::int[], $4::int[], $5::smallint[], $6::bigint[]) AS u(exercise_id, cell_y, cell_x, bucket, reports)`,
      [runId, cEx, cY, cX, cB, cR],
    );
    cEx = [];
    cY = [];
    cX = [];
    cB = [];
    cR = [];
  };
  for (const [e, y, x, b, reports] of agg.cellEntries()) {
    cEx.push(exNames[e]!);
    cY.push(y);
    cX.push(x);
    cB.push(b);
    cR.push(reports);
    if (cEx.length >= INSERT_CHUNK) await flushCells();
  }
  await flushCells();

  let rEx: string[] = [],
    rRegion: string[] = [],
    rB: number[] = [],
    rR: number[] = [],
    rS: number[] = [];
  const flushRegions = async () => {
    if (rEx.length === 0) return;
    await tx.query(
      `INSERT INTO partial_region_histogram (run_id, exercise_id, region, bucket, reports, score_sum)
       SELECT $1, u.exercise_id, u.region, u.bucket, u.reports, u.score_sum
       FROM unnest($2::text[], $3::text[], $4::smallint[], $5::bigint[], $6::float8[]) AS u(exercise_id, region, bucket, reports, score_sum)`,
      [runId, rEx, rRegion, rB, rR, rS],
    );
    rEx = [];
    rRegion = [];
    rB = [];
    rR = [];
    rS = [];
  };
  for (const [e, r, b, reports, sum] of agg.regionEntries()) {
    rEx.push(exNames[e]!);
    rRegion.push(regNames[r]!);
    rB.push(b);
    rR.push(reports);
    rS.push(sum);
    if (rEx.length >= INSERT_CHUNK) await flushRegions();
  }
  await flushRegions();
}
