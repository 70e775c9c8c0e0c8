import { decodeDeploymentOrder, type DeploymentOrder } from "../../src/domain/deployment-order.ts";
import { decodeIncidentEvent } from "../../src/domain/incident-event.ts";
import type { LakeDataset } from "../../src/domain/lake-layout.ts";
import { decodeReport, reportKey } from "../../src/domain/report.ts";
import {
  encodeDeployments,
  encodeIncidentEvents,
  encodeReports,
  lakeIncidentEvent,
  type LakeIncidentEvent,
  type LakeReport,
} from "../../src/formats/parquet.ts";
import { TOPICS, type BusRecord } from "../../src/ports/bus.ts";
import type { Log } from "../lifecycle.ts";

export type DeploymentRow = DeploymentOrder & { partition: number; offset: number };

/** What the sink needs to know of one topic to keep it in the lake: its dataset, rows and ids. */
export interface SinkDataset<Row> {
  readonly dataset: LakeDataset;
  readonly topic: string;
  /** The columns that identify a row: a resend or a republish carries the same values, and is kept once. */
  readonly idColumns: readonly string[];
  id(row: Row): string;
  /** The same id for row `row` of the values of `idColumns`, one array per column in their order (read back from the lake at start). */
  idAt(columns: ReadonlyArray<readonly string[]>, row: number): string;
  /** The row of a record with its bus position, or null when the message is malformed. */
  decode(record: BusRecord, log: Log): Row | null;
  encode(rows: Row[]): Uint8Array;
  /** Set when malformed messages are logged as one count per file rather than one line each at decode. */
  malformedPerFile?: (skipped: number) => string;
}

export const reportsDataset: SinkDataset<LakeReport> = {
  dataset: "reports",
  topic: TOPICS.reports,
  // Laptops choose report ids: unique per student only.
  idColumns: ["studentId", "reportId"],
  id: (r) => reportKey(r.studentId, r.reportId),
  idAt: ([studentIds, reportIds], i) => reportKey(studentIds![i]!, reportIds![i]!),
  decode: (r) => toReport(r),
  encode: encodeReports,
  // The alert role routes malformed messages to the DLQ (naming each); the lake keeps only valid reports.
  malformedPerFile: (n) => `sink: skipped ${n} malformed report message(s)`,
};

export const deploymentsDataset: SinkDataset<DeploymentRow> = {
  dataset: "deployments",
  topic: TOPICS.alerts,
  // One order per report: the report's key, which the alert id derives from (orders of any alert id format).
  idColumns: ["studentId", "reportId"],
  id: (o) => reportKey(o.studentId, o.reportId),
  idAt: ([studentIds, reportIds], i) => reportKey(studentIds![i]!, reportIds![i]!),
  decode: (r, log) => toDeployment(r, log),
  encode: encodeDeployments,
};

/** Every transition of every incident: a relay that publishes an event twice publishes the same eventId. */
export const incidentsDataset: SinkDataset<LakeIncidentEvent> = {
  dataset: "incidents",
  topic: TOPICS.incidentEvents,
  idColumns: ["eventId"],
  id: (e) => e.eventId,
  idAt: ([eventIds], i) => eventIds![i]!,
  decode: (r, log) => toIncidentEvent(r, log),
  encode: encodeIncidentEvents,
};

/** The report with its bus position, or null if the message is malformed (counted when its file is written). */
function toReport(r: BusRecord): LakeReport | null {
  try {
    // decodeReport returns a fresh object: extended in place rather than copied.
    const report = decodeReport(r.value) as LakeReport;
    report.partition = r.partition;
    report.offset = r.offset;
    return report;
  } catch {
    return null;
  }
}

function toDeployment(r: BusRecord, log: Log): DeploymentRow | null {
  try {
    return { ...decodeDeploymentOrder(r.value), partition: r.partition, offset: r.offset };
  } catch (e) {
    log.warn(`sink: skipped malformed deployment order at ${r.topic}/${r.partition}@${r.offset}: ${(e as Error).message}`);
    return null;
  }
}

function toIncidentEvent(r: BusRecord, log: Log): LakeIncidentEvent | null {
  try {
    return lakeIncidentEvent(decodeIncidentEvent(r.value), r.partition, r.offset);
  } catch (e) {
    log.warn(`sink: skipped malformed incident event at ${r.topic}/${r.partition}@${r.offset}: ${(e as Error).message}`);
    return null;
  }
}
