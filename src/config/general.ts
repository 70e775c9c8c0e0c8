import { DEFAULT_TREND_PERIOD_SECONDS, isTrendPeriod, TREND_PERIOD_RULE } from "../domain/trend-period.ts";
/** The settings that are no engine's: roles and data dir, HTTP, logging, and each role's own. */
import { resolve } from "node:path";
import { defaultLogFormat, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "../log.ts";
import { DEDUPE_IDS_LIMITS, DEFAULT_DEDUPE_IDS } from "../domain/recent-ids.ts";
import type { Section } from "./section.ts";
import { bytes, codes, ConfigError, isPort, num, oneOf, text, type Setting } from "./setting.ts";

export const ROLES = ["ingest", "alert", "sink", "analyzer", "dispatch", "http"] as const;
export type Role = (typeof ROLES)[number];

export function parseRoles(raw: string | undefined): Role[] {
  if (raw === undefined || raw === "" || raw === "all") return [...ROLES];
  const roles = raw
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean);
  for (const r of roles)
    if (!(ROLES as readonly string[]).includes(r)) throw new ConfigError(`--role: unknown role "${r}"; roles are ${ROLES.join(", ")} or all`);
  return [...new Set(roles)] as Role[];
}

export interface RunConfig {
  roles: Role[];
  dataDir: string;
}

const runSettings = {
  role: { flag: "--role", default: "all", help: `roles this process runs: ${codes(ROLES)}, comma-separated, or \`all\`` },
  dataDir: {
    env: "ACU_DATA_DIR",
    flag: "--data-dir",
    default: "./data",
    help: "embedded engines' files: the log (`bus/`), `thresholds.json` (+ `catalogue-seed.json`), `tokens.json`, `dispatch/`, `lake/`, `warehouse/`",
  },
} satisfies Record<string, Setting>;

export const runSection: Section<RunConfig> = {
  title: "Roles and data",
  settings: runSettings,
  read: (v) => ({ roles: parseRoles(v.raw(runSettings.role)), dataDir: resolve(text(v.raw(runSettings.dataDir), "./data")) }),
  notes: [
    "Each engine variable below that is unset falls back to its embedded adapter under the data dir. Embedded engines belong to one process: a second process on the same data dir is refused at start, so roles split over several processes need the shared engines.",
  ],
};

export interface HttpConfig {
  port: number;
  host: string;
  /** A separate port for /healthz, /readyz and /metrics in any process; null = none. */
  opsPort: number | null;
  /** Concurrent stream sockets (alerts, incidents, patrols' together) per token. */
  wsPerToken: number;
  alertFeedCapacity: number;
}

const httpSettings = {
  port: {
    env: "ACU_HTTP_PORT",
    flag: "--port",
    default: "8080",
    help: "HTTP/WebSocket port of the ingest and http roles (API, dashboard, `/healthz`, `/readyz`, `/metrics`)",
  },
  host: { env: "ACU_HTTP_HOST", flag: "--host", default: "127.0.0.1", help: "address the HTTP and ops ports listen on" },
  opsPort: {
    env: "ACU_OPS_PORT",
    flag: "--ops-port",
    default: "(none)",
    help: "a port serving only `/healthz`, `/readyz` and `/metrics`, in a process of any roles; `0` = any free port",
  },
  wsPerToken: {
    env: "ACU_WS_PER_TOKEN",
    default: "50",
    help: "concurrent stream WebSockets (alerts, incidents, patrols' together) per token, per http process",
  },
  alertFeedSize: { env: "ACU_ALERT_FEED_SIZE", default: "20000", help: "deployment orders kept for `GET /api/alerts` and stream resume" },
} satisfies Record<string, Setting>;

export const httpSection: Section<HttpConfig> = {
  title: "HTTP",
  settings: httpSettings,
  read: (v) => {
    const s = httpSettings;
    const ops = v.raw(s.opsPort);
    return {
      port: num("port", v.raw(s.port), 8080, isPort, "must be a port number 0–65535"),
      host: text(v.raw(s.host), "127.0.0.1"),
      opsPort:
        ops === undefined || ops === ""
          ? null
          : num(v.origin(s.opsPort) === "flag" ? "--ops-port" : "ACU_OPS_PORT", ops, 0, isPort, "must be a port number 0–65535"),
      wsPerToken: num("ACU_WS_PER_TOKEN", v.raw(s.wsPerToken), 50, (n) => Number.isInteger(n) && n >= 1 && n <= 100_000, "must be a whole number 1–100000"),
      alertFeedCapacity: num("ACU_ALERT_FEED_SIZE", v.raw(s.alertFeedSize), 20_000, (n) => Number.isInteger(n) && n >= 10, "must be a whole number ≥ 10"),
    };
  },
};

export interface LogConfig {
  logFormat: LogFormat;
  logLevel: LogLevel;
}

const logSettings = {
  format: {
    env: "ACU_LOG_FORMAT",
    flag: "--log-format",
    default: "json (text on a terminal)",
    help: "`json`: one JSON object a line (`level`, `time`, `msg`, fields); `text`: one human line",
  },
  level: { env: "ACU_LOG_LEVEL", default: "info", help: `least level logged: ${codes(LOG_LEVELS)}` },
} satisfies Record<string, Setting>;

export const logSection: Section<LogConfig> = {
  title: "Logging",
  settings: logSettings,
  read: (v) => ({
    logFormat: oneOf("--log-format", v.raw(logSettings.format), LOG_FORMATS, defaultLogFormat(process.stdout.isTTY)),
    logLevel: oneOf("ACU_LOG_LEVEL", v.raw(logSettings.level), LOG_LEVELS, "info"),
  }),
};

export const EXERCISE_MODES = ["strict", "open"] as const;
export type ExerciseMode = (typeof EXERCISE_MODES)[number];

export interface IngestConfig {
  /** Reports per second per ingest token (0 = no limit). */
  ingestRateLimit: number;
  /** Reports per second per student of a token (0 = no limit): one flooding laptop cannot use up its token's rate. */
  ingestStudentRateLimit: number;
  /** strict: only exercises with a threshold entry are ingested; open: any well-formed exercise id. */
  exercises: ExerciseMode;
  /** Bytes of request bodies one ingest process takes at once; beyond, 503 before the body is read. */
  ingestInflightBytes: number;
}

const ingestSettings = {
  rateLimit: {
    env: "ACU_INGEST_RATE_LIMIT",
    default: "20000",
    help: "reports/s per ingest token, burst 2 s worth, counted per ingest process; `0` = no limit",
  },
  studentRateLimit: {
    env: "ACU_INGEST_STUDENT_RATE_LIMIT",
    default: "10",
    help: "reports/s per student of an ingest token, burst 2 s worth, counted per ingest process (at most 100000 students tracked, least recently seen dropped first); `0` = no limit",
  },
  exercises: {
    env: "ACU_EXERCISES",
    default: "strict",
    help: "`strict`: a report for an exercise without a threshold entry is refused (400 naming it), so an exercise is added with `PUT /api/thresholds/<id>` (on the embedded store each exercise of `acu signal` is entered once, remembered in `catalogue-seed.json`); `open`: any well-formed exercise id is taken",
  },
  inflightBytes: {
    env: "ACU_INGEST_INFLIGHT_BYTES",
    default: "33554432",
    help: "bytes of `POST /api/reports` bodies one ingest process takes at once (each held with its reports until its publish settles); beyond it a request is answered 503 + `Retry-After` before its body is read, so a crowd sending while the brokers are slow costs refusals, not memory (1 MiB–4 GiB)",
  },
  regionRadiusKm: {
    env: "ACU_REGION_RADIUS_KM",
    default: "(ignored)",
    help: "deprecated and ignored (still accepted so an old environment starts): a report's region is now the map's region polygon containing it, else `abroad`; remove it",
  },
} satisfies Record<string, Setting>;

const reportRate = (name: string, raw: string | undefined, def: number) =>
  num(name, raw, def, (n) => n >= 0 && n <= 10_000_000, "must be reports per second, 0 (no limit) to 10000000");

export const ingestSection: Section<IngestConfig> = {
  title: "Ingest",
  settings: ingestSettings,
  read: (v) => ({
    ingestRateLimit: reportRate("ACU_INGEST_RATE_LIMIT", v.raw(ingestSettings.rateLimit), 20_000),
    ingestStudentRateLimit: reportRate("ACU_INGEST_STUDENT_RATE_LIMIT", v.raw(ingestSettings.studentRateLimit), 10),
    exercises: oneOf("ACU_EXERCISES", v.raw(ingestSettings.exercises), EXERCISE_MODES, "strict"),
    ingestInflightBytes: bytes("ACU_INGEST_INFLIGHT_BYTES", v.raw(ingestSettings.inflightBytes), 32 * 1024 * 1024, 4),
  }),
};

export interface SinkConfig {
  sinkFlushMs: number;
  sinkFlushRecords: number;
  sinkBufferBytes: number;
}

const sinkSettings = {
  flushMs: { env: "ACU_SINK_FLUSH_MS", default: "10000", help: "longest a record waits in the sink before its lake file is written" },
  flushRecords: { env: "ACU_SINK_FLUSH_RECORDS", default: "50000", help: "records of one partition that trigger a lake file" },
  bufferBytes: {
    env: "ACU_SINK_BUFFER_BYTES",
    default: "134217728",
    help: "bytes of records the sink holds at most while files are not yet written (the lake away); beyond it the sink stops fetching (1 MiB–16 GiB)",
  },
} satisfies Record<string, Setting>;

export const sinkSection: Section<SinkConfig> = {
  title: "Sink",
  settings: sinkSettings,
  read: (v) => ({
    sinkFlushMs: num(
      "ACU_SINK_FLUSH_MS",
      v.raw(sinkSettings.flushMs),
      10_000,
      (n) => Number.isInteger(n) && n >= 10,
      "must be a whole number of milliseconds ≥ 10",
    ),
    sinkFlushRecords: num(
      "ACU_SINK_FLUSH_RECORDS",
      v.raw(sinkSettings.flushRecords),
      50_000,
      (n) => Number.isInteger(n) && n >= 1,
      "must be a whole number ≥ 1",
    ),
    sinkBufferBytes: bytes("ACU_SINK_BUFFER_BYTES", v.raw(sinkSettings.bufferBytes), 128 * 1024 * 1024, 16),
  }),
};

export interface DedupeConfig {
  /** Ids each dedupe window keeps: the resend horizon. */
  dedupeIds: number;
}

const dedupeSettings = {
  ids: {
    env: "ACU_DEDUPE_IDS",
    default: String(DEFAULT_DEDUPE_IDS),
    help: `ids each resend window keeps (alert role: orders; sink: reports, orders, incident events, each its own), ${DEDUPE_IDS_LIMITS.min}–${DEDUPE_IDS_LIMITS.max}; at most about 28 bytes of memory per id`,
  },
} satisfies Record<string, Setting>;

export const dedupeSection: Section<DedupeConfig> = {
  title: "Resends",
  settings: dedupeSettings,
  read: (v) => ({
    dedupeIds: num(
      "ACU_DEDUPE_IDS",
      v.raw(dedupeSettings.ids),
      DEFAULT_DEDUPE_IDS,
      (n) => Number.isInteger(n) && n >= DEDUPE_IDS_LIMITS.min && n <= DEDUPE_IDS_LIMITS.max,
      `must be a whole number of ids, ${DEDUPE_IDS_LIMITS.min} to ${DEDUPE_IDS_LIMITS.max}`,
    ),
  }),
  notes: [
    "A report is recognised by its student id and report id together (laptops choose report ids). A laptop's resend of a report whose key is still in the window is dropped: no second order from the alert role, no second row in the lake. The window of reports is the shortest (every report enters it): at 2,000 reports/s, 1,000,000 ids are about 8 minutes; the alert role's holds failing reports only. A resend older than its window is stored twice in `reports/` (counted twice by the analyzer) and gets the same alert id again, which the dispatch recognises (docs/guarantees.md): no second patrol.",
    "Each window keeps a 96-bit fingerprint per id, not the id: at most about 28 bytes per id whatever its length (1,000,000 ids ≈ 20–28 MB for a full window, grown as it fills); the sink holds three, filled by their own traffic. Two ids are taken for one only if all 96 bits agree: about 1 in 10^23 per lookup in a full window of a million.",
  ],
};

export interface DispatchConfig {
  /** An assignment not acknowledged this long goes to the next nearest patrol. */
  dispatchAckTimeoutMs: number;
}

const dispatchSettings = {
  ackTimeout: {
    env: "ACU_DISPATCH_ACK_TIMEOUT",
    default: "60",
    help: "seconds (a fraction allowed, 0.1–86400) an assigned patrol has to acknowledge before the incident goes to the next nearest",
  },
} satisfies Record<string, Setting>;

export const dispatchSection: Section<DispatchConfig> = {
  title: "Dispatch",
  settings: dispatchSettings,
  read: (v) => ({
    dispatchAckTimeoutMs: Math.round(
      1000 *
        num(
          "ACU_DISPATCH_ACK_TIMEOUT",
          v.raw(dispatchSettings.ackTimeout),
          60,
          (n) => n >= 0.1 && n <= 86_400,
          "must be seconds, 0.1 to 86400 (a fraction allowed)",
        ),
    ),
  }),
};

export interface AnalyzerConfig {
  /** Cron with seconds; null = on demand only. */
  analyzerSchedule: string | null;
  cellSizeDeg: number;
  trendPeriodSeconds: number;
}

const analyzerSettings = {
  schedule: { env: "ACU_ANALYZER_SCHEDULE", default: "0 * * * * *", help: "cron (with seconds) of analyzer runs; `off` = on demand only" },
  cellSizeDeg: { env: "ACU_CELL_SIZE_DEG", default: "0.1", help: "hotspot grid cell in degrees; changing it needs `acu analyze --rebuild`" },
  trendPeriod: {
    env: "ACU_TREND_PERIOD_SECONDS",
    default: String(DEFAULT_TREND_PERIOD_SECONDS),
    help: "trend tables' period in seconds, whole minutes dividing an hour; the windows' precision; changing it needs `acu analyze --rebuild`",
  },
} satisfies Record<string, Setting>;

export const analyzerSection: Section<AnalyzerConfig> = {
  title: "Analyzer",
  settings: analyzerSettings,
  read: (v) => {
    const schedule = v.raw(analyzerSettings.schedule) ?? "0 * * * * *";
    return {
      analyzerSchedule: schedule === "off" || schedule === "" ? null : schedule,
      cellSizeDeg: num("ACU_CELL_SIZE_DEG", v.raw(analyzerSettings.cellSizeDeg), 0.1, (n) => n > 0 && n <= 10, "must be a number of degrees in (0, 10]"),
      trendPeriodSeconds: num("ACU_TREND_PERIOD_SECONDS", v.raw(analyzerSettings.trendPeriod), DEFAULT_TREND_PERIOD_SECONDS, isTrendPeriod, TREND_PERIOD_RULE),
    };
  },
};
