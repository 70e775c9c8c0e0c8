import { z } from "zod";
import { regionOf } from "./region-index.ts";

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

/**
 * What identifies a report: its id within its student's (laptops choose report ids, so two students may
 * share one). The student id's length first makes the pair unambiguous whatever characters the ids hold.
 * Resends are recognised by this key (alert role, sink).
 */
export function reportKey(studentId: string, reportId: string): string {
  return `${studentId.length}:${studentId}${reportId}`;
}

export const MAX_REPORTS_PER_REQUEST = 1000;
export const MAX_BODY_BYTES = 1024 * 1024;

/** Length in Unicode code points, as JSON Schema's minLength/maxLength count (not UTF-16 code units). */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** 1–64 code points; `.length` alone answers for the usual ASCII ids. */
const idLengthOk = (s: string) => s.length >= 1 && (s.length <= 64 || codePointLength(s) <= 64);

const id = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .refine((s) => s.length <= 64 || codePointLength(s) <= 64, `${what} must be at most 64 characters`)
    // The refine is invisible to JSON Schema: say it there too.
    .meta({ maxLength: 64 });

const finite = (what: string, min: number, max: number) =>
  z
    .number({ error: (i) => (typeof i.input === "number" ? `${what} must be finite` : `${what} must be a number`) })
    .min(min, `${what} must be between ${min} and ${max}`)
    .max(max, `${what} must be between ${min} and ${max}`);

/** Epoch milliseconds accepted, as zod checks them (a fraction is rounded away). */
export const MAX_TIMESTAMP_MS = 8.64e15;
const TIMESTAMP_MESSAGE = "timestamp must be an ISO-8601 string or epoch milliseconds";

/**
 * The ISO-8601 timestamps accepted, exactly: a calendar date from 1970 to 9999 (leap years counted), then
 * optionally `Thh:mm`, `:ss`, a fraction of 1–9 digits, and a zone (`Z`, `±hh:mm` or `±hhmm`). Without a
 * zone the time is UTC. Written as one regular expression so the OpenAPI document says what zod checks:
 * the only instants before the epoch it could spell, 1970-01-01 with a time and a positive offset, are
 * left out of the expression itself.
 */
export const TIMESTAMP_PATTERN = timestampPattern();

function timestampPattern(): RegExp {
  const d = "[0-9]";
  const day28 = `(?:0[1-9]|1${d}|2[0-8])`;
  // Any year: every month to the 28th, the 29th and 30th but in February, the 31st of long months.
  const monthDay = `(?:(?:0[1-9]|1[0-2])-${day28}|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)`;
  // 1970 without January 1st (a non-leap year).
  const monthDay1970 = `(?:01-(?:0[2-9]|[12]${d}|3[01])|(?:0[2-9]|1[0-2])-${day28}|(?:0[3-9]|1[0-2])-(?:29|30)|(?:0[3578]|1[02])-31)`;
  const year1971On = `(?:197[1-9]|19[89]${d}|[2-9]${d}{3})`;
  const leapYear = `(?:19(?:7[26]|[89][048]|9[26])|[2-9]${d}(?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[3579][26])00)`;
  const date = `(?:${year1971On}-${monthDay}|${leapYear}-02-29|1970-${monthDay1970})`;
  const time = `T(?:[01]${d}|2[0-3]):[0-5]${d}(?::[0-5]${d}(?:\\.${d}{1,9})?)?`;
  const offset = `(?:[01]${d}|2[0-3]):?[0-5]${d}`;
  const zone = `(?:Z|[+-]${offset})`;
  const zoneAtEpoch = `(?:Z|-${offset}|\\+00:?00)`;
  return new RegExp(`^(?:${date}(?:${time}${zone}?)?|1970-01-01(?:${time}${zoneAtEpoch}?)?)$`);
}

export function isoToMillis(v: string): number {
  // Without a zone a date-time is UTC, like a date alone (Date.parse would take the server's local time).
  return Date.parse(v.includes("T") && !/(?:Z|[+-][0-9]{2}:?[0-9]{2})$/.test(v) ? `${v}Z` : v);
}

const timestamp = z
  .union(
    [
      z.string({ error: TIMESTAMP_MESSAGE }).regex(TIMESTAMP_PATTERN, TIMESTAMP_MESSAGE),
      z.number({ error: TIMESTAMP_MESSAGE }).min(0, TIMESTAMP_MESSAGE).max(MAX_TIMESTAMP_MS, TIMESTAMP_MESSAGE),
    ],
    { error: TIMESTAMP_MESSAGE },
  )
  .transform((v) => (typeof v === "number" ? Math.round(v) : isoToMillis(v)))
  .meta({ description: "An ISO-8601 date or date-time (UTC without a zone), or epoch milliseconds (a fraction is rounded)" });

const EXERCISE_ID = /^[A-Za-z0-9_.-]+$/;

/** The wire shape of one report sent by a laptop. Unknown fields are dropped. */
export const reportInputSchema = z
  .object({
    reportId: id("reportId").optional().meta({ description: "Optional; derived from (studentId, exerciseId, timestamp) when absent" }),
    studentId: id("studentId"),
    exerciseId: id("exerciseId").regex(EXERCISE_ID, "exerciseId may contain only letters, digits, '_', '.' and '-'"),
    score: finite("score", 0, 100).meta({ description: "Percent" }),
    latitude: finite("latitude", -90, 90),
    longitude: finite("longitude", -180, 180),
    timestamp,
  })
  .meta({ id: "Report" });

export type ReportInput = z.output<typeof reportInputSchema>;

export interface InputIssue {
  index: number;
  path: string;
  message: string;
}

export type BatchParse = { ok: true; reports: ReportInput[] } | { ok: false; error: string; issues: InputIssue[] };

/**
 * The shapes a report is accepted in: acu's laptop shape (reportInputSchema), the original system's
 * (originalReportSchema), or either, told apart by `login` (auto).
 */
export const REPORT_FORMATS = ["acu", "original", "auto"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Epoch seconds accepted in the original shape: the range of MAX_TIMESTAMP_MS. */
const MAX_TIMESTAMP_S = MAX_TIMESTAMP_MS / 1000;

/**
 * The original system's record (its Kafka topic `student_report`): `login`, an integer exercise id, a
 * score in percent and the time in epoch **seconds**. Read as acu's shape: login → studentId, exercise →
 * exerciseId (its decimal string), seconds → milliseconds; no reportId (derived, as for a laptop). The
 * field names in its messages are the original's.
 */
export const originalReportShape = z
  .object({
    login: id("login"),
    exercise: z
      .number({ error: "exercise must be a whole number" })
      .int("exercise must be a whole number")
      .min(0, "exercise must be between 0 and 9007199254740991")
      .max(Number.MAX_SAFE_INTEGER, "exercise must be between 0 and 9007199254740991"),
    score: finite("score", 0, 100).meta({ description: "Percent" }),
    latitude: finite("latitude", -90, 90),
    longitude: finite("longitude", -180, 180),
    timestamp: finite("timestamp", 0, MAX_TIMESTAMP_S).meta({ description: "Epoch seconds" }),
  })
  .meta({ id: "OriginalReport" });

/** originalReportShape read as acu's shape. */
export const originalReportSchema = originalReportShape.transform(
  (o): ReportInput => ({
    studentId: o.login,
    exerciseId: String(o.exercise),
    score: o.score,
    latitude: o.latitude,
    longitude: o.longitude,
    timestamp: Math.round(o.timestamp * 1000),
  }),
);

/** The issues of one item, or its report in acu's shape. */
export type ItemParse = { ok: true; report: ReportInput } | { ok: false; issues: Array<{ path: string; message: string }> };

/** One report in the given shape (a JSON value already parsed): validated once, as ingest takes it. */
export function parseReportItem(item: unknown, format: ReportFormat = "acu"): ItemParse {
  if (typeof item !== "object" || item === null || Array.isArray(item)) return { ok: false, issues: [{ path: "", message: "a report must be a JSON object" }] };
  const o = item as Record<string, unknown>;
  if (format === "original" || (format === "auto" && "login" in o && !("studentId" in o))) {
    const r = originalReportSchema.safeParse(o);
    return r.success ? { ok: true, report: r.data } : { ok: false, issues: r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) };
  }
  const fast = reportInputFast(o);
  if (fast) return { ok: true, report: fast };
  const r = reportInputSchema.safeParse(o);
  return r.success ? { ok: true, report: r.data } : { ok: false, issues: r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) };
}

/** Validates a request body: one report object or an array of 1..1000, in `format`. Accepted or rejected whole. */
export function parseReportBatch(body: unknown, format: ReportFormat = "acu"): BatchParse {
  const items = Array.isArray(body) ? body : [body];
  if (Array.isArray(body) && body.length === 0) return { ok: false, error: "the batch is empty", issues: [] };
  if (items.length > MAX_REPORTS_PER_REQUEST)
    return { ok: false, error: `a batch holds at most ${MAX_REPORTS_PER_REQUEST} reports, got ${items.length}`, issues: [] };
  const reports: ReportInput[] = [];
  const issues: InputIssue[] = [];
  items.forEach((item, index) => {
    const r = parseReportItem(item, format);
    if (r.ok) reports.push(r.report);
    else for (const i of r.issues) issues.push({ index, ...i });
  });
  if (issues.length > 0) return { ok: false, error: `${issues.length} invalid field(s) in the batch; nothing was accepted`, issues };
  return { ok: true, reports };
}

/** The report as ingest writes it to the bus: its reportId (the laptop's, or derived) and its region added. */
export function toReport(r: ReportInput): Report {
  return {
    reportId: r.reportId ?? deriveReportId(r),
    studentId: r.studentId,
    exerciseId: r.exerciseId,
    score: r.score,
    latitude: r.latitude,
    longitude: r.longitude,
    timestamp: r.timestamp,
    region: regionOf(r.latitude, r.longitude),
  };
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
const storedReportSchema = reportInputSchema.extend({ reportId: id("reportId"), region: z.string().max(64) });

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

const idOk = (v: unknown): v is string => typeof v === "string" && idLengthOk(v);
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
