import { initSync, readParquet, writeParquet, Table as WasmTable, WriterPropertiesBuilder, Compression } from "parquet-wasm/esm";
// Imported as a file so `bun build --compile` embeds the wasm in the binary.
import wasmPath from "parquet-wasm/esm/parquet_wasm_bg.wasm" with { type: "file" };
import {
  Field, Float64, Int32, Int64, RecordBatch, Schema, Struct, Table, TimestampMillisecond, Utf8, makeData, makeVector, tableFromIPC, tableToIPC,
  vectorFromArray,
} from "apache-arrow";
import type { Report } from "../domain/report.ts";
import type { DeploymentOrder } from "../domain/deployment-order.ts";

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

function columns<T extends object>(schema: Schema, rows: T[]): Table {
  const children = schema.fields.map((f) => {
    const key = f.name as keyof T;
    let v;
    if (f.type instanceof Int64) v = makeVector(BigInt64Array.from(rows, (r) => BigInt(r[key] as number)));
    else if (f.type instanceof Float64) v = makeVector(Float64Array.from(rows, (r) => r[key] as number));
    else if (f.type instanceof Int32) v = makeVector(Int32Array.from(rows, (r) => r[key] as number));
    else v = vectorFromArray(rows.map((r) => r[key]) as never[], f.type);
    // One chunk per column so the columns line up in a single record batch.
    return v.data.length === 1 ? v.data[0]! : v.concat().data[0]!;
  });
  return new Table(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children })));
}

function encode(table: Table): Uint8Array {
  init();
  const wasm = WasmTable.fromIPCStream(tableToIPC(table, "stream"));
  const props = new WriterPropertiesBuilder().setCompression(Compression.ZSTD).build();
  return writeParquet(wasm, props);
}

export function encodeReports(rows: LakeReport[]): Uint8Array {
  return encode(columns(reportSchema, rows));
}

export function encodeDeployments(rows: Array<DeploymentOrder & { partition: number; offset: number }>): Uint8Array {
  return encode(columns(deploymentSchema, rows));
}

/** Reads any lake Parquet file into an Arrow table. */
export function decodeParquet(bytes: Uint8Array): Table {
  init();
  return tableFromIPC(readParquet(bytes).intoIPCStream());
}
