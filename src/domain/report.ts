import { z } from "zod";

/** A graded-exercise report as it travels on the bus and lands in the lake. */
export interface Report {
  reportId: string;
  studentId: string;
  exerciseId: string;
  /** Percent, 0–100. */
  score: number;
  latitude: number;
  longitude: number;
  /** When the laptop sent it, epoch milliseconds. */
  timestamp: number;
  /** Region of the nearest catalogue city, or "unknown". */
  region: string;
}

export const MAX_REPORTS_PER_REQUEST = 1000;
export const MAX_BODY_BYTES = 1024 * 1024;

const id = (what: string) =>
  z.string({ error: `${what} must be a string` }).min(1, `${what} must not be empty`).max(64, `${what} must be at most 64 characters`);

const finite = (what: string, min: number, max: number) =>
  z
    .number({ error: `${what} must be a number` })
    .refine(Number.isFinite, `${what} must be finite`)
    .refine((v) => v >= min && v <= max, `${what} must be between ${min} and ${max}`);

const timestamp = z.union([z.string(), z.number()], { error: "timestamp must be an ISO-8601 string or epoch milliseconds" }).transform((v, ctx) => {
  const ms = typeof v === "number" ? v : isoToMillis(v);
  if (!Number.isFinite(ms) || !Number.isInteger(Math.round(ms)) || ms < 0 || ms > 8.64e15) {
    ctx.addIssue({ code: "custom", message: "timestamp must be an ISO-8601 string or epoch milliseconds" });
    return z.NEVER;
  }
  return Math.round(ms);
});

function isoToMillis(v: string): number {
  // Date.parse accepts non-ISO forms ("March 7"); require the ISO shape first.
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) return NaN;
  return Date.parse(v);
}

const EXERCISE_ID = /^[A-Za-z0-9_.-]+$/;

/** The wire shape of one report sent by a laptop. Unknown fields are dropped. */
export const reportInputSchema = z.object({
  reportId: z.string({ error: "reportId must be a string" }).min(1, "reportId must not be empty").max(64, "reportId must be at most 64 characters").optional(),
  studentId: id("studentId"),
  exerciseId: id("exerciseId").regex(EXERCISE_ID, "exerciseId may contain only letters, digits, '_', '.' and '-'"),
  score: finite("score", 0, 100),
  latitude: finite("latitude", -90, 90),
  longitude: finite("longitude", -180, 180),
  timestamp,
});

export type ReportInput = z.output<typeof reportInputSchema>;

export interface InputIssue {
  index: number;
  path: string;
  message: string;
}

export type BatchParse = { ok: true; reports: ReportInput[] } | { ok: false; error: string; issues: InputIssue[] };

const itemSchema = reportInputSchema;

/** Validates a request body: one report object or an array of 1..1000. Accepted or rejected whole. */
export function parseReportBatch(body: unknown): BatchParse {
  const items = Array.isArray(body) ? body : [body];
  if (Array.isArray(body) && body.length === 0) return { ok: false, error: "the batch is empty", issues: [] };
  if (items.length > MAX_REPORTS_PER_REQUEST)
    return { ok: false, error: `a batch holds at most ${MAX_REPORTS_PER_REQUEST} reports, got ${items.length}`, issues: [] };
  const reports: ReportInput[] = [];
  const issues: InputIssue[] = [];
  items.forEach((item, index) => {
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      issues.push({ index, path: "", message: "a report must be a JSON object" });
      return;
    }
    const fast = reportInputFast(item as Record<string, unknown>);
    if (fast) {
      reports.push(fast);
      return;
    }
    const r = itemSchema.safeParse(item);
    if (r.success) reports.push(r.data);
    else for (const i of r.error.issues) issues.push({ index, path: i.path.join("."), message: i.message });
  });
  if (issues.length > 0) return { ok: false, error: `${issues.length} invalid field(s) in the batch; nothing was accepted`, issues };
  return { ok: true, reports };
}

/**
 * A laptop's report if it passes every check of reportInputSchema with a numeric timestamp, else null
 * (zod then decides, with its messages). zod's safeParse of 500 items was the largest share of ingest's
 * own CPU after kafkajs (bench/README.md, "Findings"); this accepts nothing zod would refuse.
 */
function reportInputFast(o: Record<string, unknown>): ReportInput | null {
  const { reportId, studentId, exerciseId, score, latitude, longitude, timestamp } = o;
  if (reportId !== undefined && !idOk(reportId)) return null;
  if (!idOk(studentId) || !idOk(exerciseId) || !EXERCISE_ID.test(exerciseId)) return null;
  if (!inRange(score, 0, 100) || !inRange(latitude, -90, 90) || !inRange(longitude, -180, 180)) return null;
  if (typeof timestamp !== "number" || !Number.isFinite(timestamp) || timestamp < 0 || timestamp > 8.64e15) return null;
  // As zod builds it: known fields only, an absent reportId absent, the timestamp rounded.
  const out: ReportInput = { studentId, exerciseId, score, latitude, longitude, timestamp: Math.round(timestamp) };
  return reportId === undefined ? out : { reportId, ...out };
}

/** Deterministic id so a laptop that resends the same report yields the same id. */
export function deriveReportId(r: Pick<ReportInput, "studentId" | "exerciseId" | "timestamp">): string {
  // One-shot hash: the same digest as a CryptoHasher object, without one per report.
  return Bun.CryptoHasher.hash("sha256", `${r.studentId}\u0000${r.exerciseId}\u0000${r.timestamp}`, "hex").slice(0, 32);
}

/** Report as carried on the bus: compact JSON, one per message. */
export function encodeReport(r: Report): string {
  return JSON.stringify(r);
}

// Built once: zod compiles a schema on its first parse, and rebuilding it per message was most of the
// alert and sink roles' CPU (bench/README.md, "Findings").
const storedReportSchema = reportInputSchema.extend({ reportId: z.string().min(1).max(64), region: z.string().max(64) });

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** Decodes a bus message; throws an Error naming what is wrong (the caller routes it to the DLQ). */
export function decodeReport(bytes: Uint8Array | string): Report {
  const text = typeof bytes === "string" ? bytes : utf8Strict.decode(bytes);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error("message is not JSON");
  }
  // Fast path: the checks of storedReportSchema written out, for the message ingest wrote (timestamp in
  // epoch ms). zod's safeParse was ~10 µs of the sink's and alert role's per-message CPU. Anything this
  // does not accept goes to zod, which accepts or rejects it with its messages: never a weaker check.
  const fast = storedReportFast(raw);
  if (fast) return fast;
  const r = storedReportSchema.safeParse(raw);
  if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join(".") || "message"}: ${i.message}`).join("; "));
  return r.data as Report;
}

const idOk = (v: unknown): v is string => typeof v === "string" && v.length >= 1 && v.length <= 64;
const inRange = (v: unknown, min: number, max: number): v is number => typeof v === "number" && Number.isFinite(v) && v >= min && v <= max;

/** The report if `raw` passes every check of storedReportSchema with a numeric timestamp; else null (zod decides). */
function storedReportFast(raw: unknown): Report | null {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
  const o = raw as Record<string, unknown>;
  // A laptop's report (reportInputFast's checks), with the two fields ingest adds: reportId required, region.
  if (!idOk(o.reportId) || typeof o.region !== "string" || o.region.length > 64) return null;
  const r = reportInputFast(o);
  return r && ({ ...r, region: o.region } as Report);
}
