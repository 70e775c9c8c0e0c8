import { initSync, readParquet, writeParquet, Table as WasmTable, WriterPropertiesBuilder, Compression } from "parquet-wasm/esm";
// Imported as a file so `bun build --compile` embeds the wasm in the binary.
import wasmPath from "parquet-wasm/esm/parquet_wasm_bg.wasm" with { type: "file" };
import { Field, Float64, Int32, Int64, RecordBatch, Schema, Struct, Table, TimestampMillisecond, Utf8, makeData, tableFromIPC, tableToIPC } from "apache-arrow";
import type { Report } from "../domain/report.ts";
import type { DeploymentOrder } from "../domain/deployment-order.ts";
import type { IncidentEvent, IncidentTimes } from "../domain/incident-event.ts";
import type { DataTable } from "./csv.ts";

let ready = false;
function init(): void {
  if (ready) return;
  initSync({ module: new Uint8Array(require("node:fs").readFileSync(wasmPath)) });
  ready = true;
}

/** A report in the lake, with the bus position it came from (audit: each position appears once). */
export interface LakeReport extends Report {
  partition: number;
  offset: number;
}

export const reportSchema = new Schema([
  new Field("reportId", new Utf8(), false),
  new Field("studentId", new Utf8(), false),
  new Field("exerciseId", new Utf8(), false),
  new Field("score", new Float64(), false),
  new Field("latitude", new Float64(), false),
  new Field("longitude", new Float64(), false),
  new Field("timestamp", new TimestampMillisecond("UTC"), false),
  new Field("region", new Utf8(), false),
  new Field("partition", new Int32(), false),
  new Field("offset", new Int64(), false),
]);

export const deploymentSchema = new Schema([
  new Field("alertId", new Utf8(), false),
  new Field("reportId", new Utf8(), false),
  new Field("studentId", new Utf8(), false),
  new Field("exerciseId", new Utf8(), false),
  new Field("score", new Float64(), false),
  new Field("threshold", new Float64(), false),
  new Field("latitude", new Float64(), false),
  new Field("longitude", new Float64(), false),
  new Field("region", new Utf8(), false),
  new Field("reportedAt", new TimestampMillisecond("UTC"), false),
  new Field("raisedAt", new TimestampMillisecond("UTC"), false),
  new Field("partition", new Int32(), false),
  new Field("offset", new Int64(), false),
]);

/**
 * An incident event in the lake: every field of the event, its transition times as columns of their own
 * (null: the step was not reached), and the bus position it came from.
 */
export type LakeIncidentEvent = Omit<IncidentEvent, "times"> & IncidentTimes & { partition: number; offset: number };

const nullableTime = (name: keyof IncidentTimes) => new Field(name, new TimestampMillisecond("UTC"), true);

export const incidentSchema = new Schema([
  new Field("eventId", new Utf8(), false),
  new Field("incidentId", new Utf8(), false),
  new Field("seq", new Int32(), false),
  new Field("type", new Utf8(), false),
  new Field("state", new Utf8(), false),
  new Field("at", new TimestampMillisecond("UTC"), false),
  new Field("studentId", new Utf8(), false),
  new Field("patrolId", new Utf8(), true),
  new Field("alertId", new Utf8(), false),
  new Field("exerciseId", new Utf8(), false),
  new Field("lowestScore", new Float64(), false),
  new Field("orders", new Int32(), false),
  new Field("region", new Utf8(), false),
  new Field("latitude", new Float64(), false),
  new Field("longitude", new Float64(), false),
  new Field("openedAt", new TimestampMillisecond("UTC"), false),
  nullableTime("assignedAt"),
  nullableTime("acknowledgedAt"),
  nullableTime("enRouteAt"),
  nullableTime("onSiteAt"),
  nullableTime("resolvedAt"),
  nullableTime("cancelledAt"),
  new Field("note", new Utf8(), false),
  new Field("actor", new Utf8(), false),
  new Field("partition", new Int32(), false),
  new Field("offset", new Int64(), false),
]);

/** The lake row of an event read at a bus position: the times flattened, nothing else changed. */
export function lakeIncidentEvent(e: IncidentEvent, partition: number, offset: number): LakeIncidentEvent {
  const { times, ...fields } = e;
  return { ...fields, ...times, partition, offset };
}

function columns<T extends object>(schema: Schema, rows: T[]): Table {
  const n = rows.length;
  const children = schema.fields.map((f) => column(f, rows));
  return new Table(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children })));
}

function column<T extends object>(f: Field, rows: T[]) {
  const n = rows.length;
  const key = f.name as keyof T;
  // Only nullable fields pay for the scan; a null is stored as 0 / "" under a cleared validity bit.
  const nulls = f.nullable ? validity(rows, key) : { nullCount: 0 };
  // Typed arrays and Utf8 buffers filled directly: apache-arrow's generic builders (vectorFromArray)
  // were most of a lake file's encoding time in the sink (bench/README.md, "Findings").
  const int64s = (): BigInt64Array => {
    const a = new BigInt64Array(n);
    for (let i = 0; i < n; i++) a[i] = BigInt((rows[i]![key] as number | null) ?? 0);
    return a;
  };
  const numbers = <A extends Float64Array | Int32Array>(a: A): A => {
    for (let i = 0; i < n; i++) a[i] = (rows[i]![key] as number | null) ?? 0;
    return a;
  };
  if (f.type instanceof Int64) return makeData({ type: f.type, length: n, ...nulls, data: int64s() });
  // Arrow keeps millisecond timestamps as 64-bit integers.
  if (f.type instanceof TimestampMillisecond) return makeData({ type: f.type, length: n, ...nulls, data: int64s() });
  if (f.type instanceof Float64) return makeData({ type: f.type, length: n, ...nulls, data: numbers(new Float64Array(n)) });
  if (f.type instanceof Int32) return makeData({ type: f.type, length: n, ...nulls, data: numbers(new Int32Array(n)) });
  if (f.type instanceof Utf8)
    return utf8Column(
      f.type,
      rows.map((r) => (r[key] as string | null) ?? ""),
      nulls,
    );
  throw new Error(`no column builder for ${f.type}`);
}

/** The validity bitmap of a nullable column (bit set: a value), or none when it holds no null. */
function validity<T extends object>(rows: T[], key: keyof T): { nullCount: number; nullBitmap?: Uint8Array } {
  const bitmap = new Uint8Array((rows.length + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i]![key];
    if (v === null || v === undefined) nullCount++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return nullCount === 0 ? { nullCount } : { nullCount, nullBitmap: bitmap };
}

const utf8 = new TextEncoder();

/** A Utf8 column's offsets and bytes, each string encoded once into one growing buffer. */
function utf8Column(type: Utf8, values: string[], nulls: { nullCount: number; nullBitmap?: Uint8Array }) {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  let bytes = new Uint8Array(Math.max(64, n * 16));
  let at = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    // A UTF-16 code unit takes at most 3 UTF-8 bytes.
    if (at + v.length * 3 > bytes.length) {
      const grown = new Uint8Array(Math.max(bytes.length * 2, at + v.length * 3));
      grown.set(bytes.subarray(0, at));
      bytes = grown;
    }
    at += utf8.encodeInto(v, bytes.subarray(at)).written;
    offsets[i + 1] = at;
  }
  return makeData({ type, length: n, ...nulls, valueOffsets: offsets, data: bytes.subarray(0, at) });
}

/**
 * Columns whose values are (nearly) all distinct: written PLAIN instead of dictionary-encoded. The
 * writer otherwise builds a dictionary for each, finds it too large and falls back anyway: measured on
 * 6 files of 33,000 reports, ~20 % less encoding time and 27 % smaller files (4.3 vs 5.9 MB).
 */
const PLAIN_COLUMNS = {
  reports: ["reportId", "score", "latitude", "longitude", "timestamp", "offset"],
  deployments: ["alertId", "reportId", "score", "latitude", "longitude", "reportedAt", "raisedAt", "offset"],
  incidents: ["eventId", "at", "latitude", "longitude", "openedAt", "offset"],
};

function encode(table: Table, plain: string[]): Uint8Array {
  init();
  const wasm = WasmTable.fromIPCStream(tableToIPC(table, "stream"));
  let props = new WriterPropertiesBuilder().setCompression(Compression.ZSTD);
  for (const c of plain) props = props.setColumnDictionaryEnabled(c, false);
  return writeParquet(wasm, props.build());
}

export function encodeReports(rows: LakeReport[]): Uint8Array {
  return encode(columns(reportSchema, rows), PLAIN_COLUMNS.reports);
}

export function encodeDeployments(rows: Array<DeploymentOrder & { partition: number; offset: number }>): Uint8Array {
  return encode(columns(deploymentSchema, rows), PLAIN_COLUMNS.deployments);
}

export function encodeIncidentEvents(rows: LakeIncidentEvent[]): Uint8Array {
  return encode(columns(incidentSchema, rows), PLAIN_COLUMNS.incidents);
}

/** Reads any lake Parquet file into an Arrow table: every column, or only those named. */
export function decodeParquet(bytes: Uint8Array, columns?: string[]): Table {
  init();
  return tableFromIPC(readParquet(bytes, columns ? { columns } : undefined).intoIPCStream());
}

/** A table of strings and numbers (`acu export`): nullable Utf8 and Float64 columns, ZSTD. */
export function encodeTable(t: DataTable): Uint8Array {
  const schema = new Schema(t.columns.map((c) => new Field(c.name, c.kind === "string" ? new Utf8() : new Float64(), true)));
  const rows = t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c.name, r[i] ?? null])));
  return encode(columns(schema, rows), []);
}
