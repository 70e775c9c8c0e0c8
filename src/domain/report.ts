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

/** The wire shape of one report sent by a laptop. Unknown fields are dropped. */
export const reportInputSchema = z.object({
  reportId: z.string({ error: "reportId must be a string" }).min(1, "reportId must not be empty").max(64, "reportId must be at most 64 characters").optional(),
  studentId: id("studentId"),
  exerciseId: id("exerciseId").regex(/^[A-Za-z0-9_.-]+$/, "exerciseId may contain only letters, digits, '_', '.' and '-'"),
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
    const r = itemSchema.safeParse(item);
    if (r.success) reports.push(r.data);
    else for (const i of r.error.issues) issues.push({ index, path: i.path.join("."), message: i.message });
  });
  if (issues.length > 0) return { ok: false, error: `${issues.length} invalid field(s) in the batch; nothing was accepted`, issues };
  return { ok: true, reports };
}

/** Deterministic id so a laptop that resends the same report yields the same id. */
export function deriveReportId(r: Pick<ReportInput, "studentId" | "exerciseId" | "timestamp">): string {
  const h = new Bun.CryptoHasher("sha256");
  h.update(`${r.studentId}\u0000${r.exerciseId}\u0000${r.timestamp}`);
  return h.digest("hex").slice(0, 32);
}

/** Report as carried on the bus: compact JSON, one per message. */
export function encodeReport(r: Report): string {
  return JSON.stringify(r);
}

// Built once: zod compiles a schema on its first parse, and rebuilding it per message was most of the
// alert and sink roles' CPU (bench/README.md, "Findings").
const storedReportSchema = reportInputSchema.extend({ reportId: z.string().min(1).max(64), region: z.string().max(64) });

/** Decodes a bus message; throws an Error naming what is wrong (the caller routes it to the DLQ). */
export function decodeReport(bytes: Uint8Array | string): Report {
  const text = typeof bytes === "string" ? bytes : new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error("message is not JSON");
  }
  const r = storedReportSchema.safeParse(raw);
  if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join(".") || "message"}: ${i.message}`).join("; "));
  return r.data as Report;
}
