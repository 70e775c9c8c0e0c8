/** `acu export --table … --format csv|parquet`: a whole analytics table from the warehouse, to a file. */
import { renameSync, statSync, writeFileSync } from "node:fs";
import { exerciseStats, hotspots, regionStats, responseTimes, trendRows, type TrendBucket } from "../../modules/analyzer/index.ts";
import { exercisesTable, hotspotsTable, regionsTable, responseTimesTable, trendRowsTable } from "../../modules/analyzer/tables.ts";
import type { ThresholdSnapshot } from "../domain/threshold.ts";
import { type DataTable, toCsv } from "../formats/csv.ts";
import { encodeTable } from "../formats/parquet.ts";
import type { SqlRunner } from "../ports/warehouse.ts";
import { type CommandLine, command, UsageError } from "./commands.ts";

export const EXPORT_TABLES = ["exercises", "regions", "hotspots", "trends", "response-times"] as const;
const EXPORT_BUCKETS = ["hour", "day"] as const;
export const EXPORT_FORMATS = ["csv", "parquet"] as const;
type ExportTable = (typeof EXPORT_TABLES)[number];
type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportCommand {
  table: ExportTable;
  format: ExportFormat;
  /** A file, or "-" for stdout. */
  out: string;
  exercise: string | null;
  /** trends: the bucket; hour when not given. */
  bucket?: TrendBucket;
}

const exportCommand = command("export");
const EXERCISE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export function parseExportCommand(line: CommandLine): ExportCommand {
  const f = line.flags as Record<string, string | boolean | undefined>;
  const table = f.table;
  if (typeof table !== "string" || !(EXPORT_TABLES as readonly string[]).includes(table))
    throw new UsageError(`--table must be one of ${EXPORT_TABLES.join(", ")}${table ? `, not "${table}"` : ""}`, exportCommand);
  const format = (f.format ?? "csv") as string;
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be csv or parquet, not "${format}"`, exportCommand);
  const out = typeof f.out === "string" && f.out !== "" ? f.out : `acu-${table}.${format}`;
  if (out === "-" && format !== "csv") throw new UsageError("--out - (stdout) is for csv only: Parquet is binary", exportCommand);
  const exercise = typeof f.exercise === "string" ? f.exercise : null;
  if (exercise !== null && !EXERCISE_ID.test(exercise))
    throw new UsageError(`--exercise must be 1–64 of letters, digits, '_', '.', '-', not "${exercise}"`, exportCommand);
  if (exercise !== null && table !== "regions" && table !== "hotspots" && table !== "trends")
    throw new UsageError(`--exercise is for regions, hotspots and trends, not ${table}`, exportCommand);
  const bucket = f.bucket;
  if (bucket !== undefined && table !== "trends") throw new UsageError(`--bucket is for trends, not ${table}`, exportCommand);
  if (bucket !== undefined && !(EXPORT_BUCKETS as readonly unknown[]).includes(bucket))
    throw new UsageError(`--bucket must be hour or day, not "${String(bucket)}"`, exportCommand);
  const base = { table: table as ExportTable, format: format as ExportFormat, out, exercise };
  return bucket === undefined ? base : { ...base, bucket: bucket as TrendBucket };
}

export interface ExportDeps {
  warehouse: SqlRunner;
  thresholds: ThresholdSnapshot;
  cellSizeDeg: number;
}

/** Every row of the table: no page, no limit (the warehouse's tables are bounded by exercises × regions × cells). */
export async function readTable(d: ExportDeps, cmd: Pick<ExportCommand, "table" | "exercise" | "bucket">): Promise<DataTable> {
  const w = d.warehouse;
  if (cmd.table === "trends")
    return trendRowsTable(cmd.bucket ?? "hour", await trendRows(w, d.thresholds, { exerciseId: cmd.exercise, bucket: cmd.bucket ?? "hour" }));
  if (cmd.table === "exercises") return exercisesTable(await exerciseStats(w, d.thresholds));
  if (cmd.table === "response-times") return responseTimesTable(await responseTimes(w));
  const ids = cmd.exercise !== null ? [cmd.exercise] : (await exerciseStats(w, d.thresholds)).exercises.map((e) => e.exerciseId);
  if (cmd.table === "hotspots") {
    const all = [];
    for (const id of ids) all.push(await hotspots(w, d.thresholds, id, Number.MAX_SAFE_INTEGER, d.cellSizeDeg));
    return hotspotsTable(all);
  }
  const parts: DataTable[] = [];
  for (const id of ids) parts.push(regionsTable(await regionStats(w, d.thresholds, id)));
  return { columns: regionsTable({ exerciseId: null, regions: [] }).columns, rows: parts.flatMap((p) => p.rows) };
}

/** Writes the file whole (a temporary file renamed over it), then says how many rows it holds. */
export async function runExportCommand(d: ExportDeps, cmd: ExportCommand, print: (line: string) => void, stdout: (text: string) => void): Promise<void> {
  const table = await readTable(d, cmd);
  if (cmd.out === "-") return stdout(toCsv(table));
  const bytes = cmd.format === "csv" ? toCsv(table) : encodeTable(table);
  if (isSpecialFile(cmd.out)) {
    // A device or a pipe (/dev/stdout, a FIFO) is written to, never renamed over: as root a rename would replace /dev/null itself.
    writeFileSync(cmd.out, bytes);
  } else {
    const tmp = `${cmd.out}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, cmd.out);
  }
  print(`wrote ${table.rows.length} row(s) of ${cmd.table} to ${cmd.out} (${cmd.format})`);
}

/** An existing path that is not a regular file (nor a directory: writing there fails, naming it). */
function isSpecialFile(path: string): boolean {
  const st = statSync(path, { throwIfNoEntry: false });
  return st !== undefined && !st.isFile() && !st.isDirectory();
}
