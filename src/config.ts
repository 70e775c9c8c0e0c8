import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { maskUrl } from "./redact.ts";
import type { Scope } from "./domain/token.ts";
import { defaultLogFormat, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "./log.ts";

export { maskUrl };

export const ROLES = ["ingest", "alert", "sink", "analyzer", "http"] as const;
export type Role = (typeof ROLES)[number];

export interface Config {
  roles: Role[];
  port: number;
  /** Port serving only /healthz, /readyz and /metrics, whatever the roles; null = none. */
  opsPort: number | null;
  host: string;
  dataDir: string;
  /** Bearer tokens set in the environment (ACU_INGEST_TOKEN, ACU_OPERATOR_TOKEN, ACU_VIEWER_TOKEN, ACU_ADMIN_TOKEN). */
  staticTokens: StaticToken[];
  /** Reports per second per ingest token (0 = no limit). */
  ingestRateLimit: number;
  /** Concurrent alert-stream sockets per token. */
  wsPerToken: number;
  defaultThreshold: number;
  partitions: number;
  analyzerSchedule: string | null;
  cellSizeDeg: number;
  regionRadiusKm: number;
  sinkFlushMs: number;
  sinkFlushRecords: number;
  alertFeedCapacity: number;
  /** Shared engines; null = the embedded adapter. */
  kafkaBrokers: string[] | null;
  kafkaReplication: number | null;
  etcdEndpoints: string[] | null;
  etcdPrefix: string;
  etcdTokenPrefix: string;
  kafkaNamespace: string;
  kafkaClientLog: KafkaClientLog;
  spark: { master: string; home: string; python: string | null; jdbcJar: string; app: string | null } | null;
  hdfsUrl: string | null;
  hdfsNamenode: string | null;
  hdfsRoot: string;
  databaseUrl: string | null;
  logFormat: LogFormat;
  logLevel: LogLevel;
}

/** One documented source of truth for flags and variables: `acu --help` prints it. */
export const ENV_VARS: Array<{ name: string; flag?: string; default: string; help: string }> = [
  { name: "ACU_HTTP_PORT", flag: "--port", default: "8080", help: "HTTP/WebSocket port (ingest, API, dashboard)" },
  { name: "ACU_OPS_PORT", flag: "--ops-port", default: "(none)", help: "port serving only /healthz, /readyz and /metrics, whatever the roles (the http port serves them too)" },
  { name: "ACU_HTTP_HOST", flag: "--host", default: "127.0.0.1", help: "address to listen on" },
  { name: "ACU_DATA_DIR", flag: "--data-dir", default: "./data", help: "embedded log, thresholds, lake and warehouse" },
  { name: "ACU_INGEST_TOKEN", default: "(none)", help: "static bearer token of scope ingest (POST /api/reports; also what `acu signal` sends), ≥ 16 characters" },
  { name: "ACU_OPERATOR_TOKEN", default: "(none)", help: "static bearer token of scope operator (thresholds, analyzer runs, and every viewer call), ≥ 16 characters" },
  { name: "ACU_VIEWER_TOKEN", default: "(none)", help: "static bearer token of scope viewer (analytics, alerts, thresholds, live stream), ≥ 16 characters" },
  { name: "ACU_ADMIN_TOKEN", default: "(none)", help: "deprecated alias of ACU_OPERATOR_TOKEN, still accepted" },
  { name: "ACU_INGEST_RATE_LIMIT", default: "20000", help: "reports/s per ingest token, burst 2 s worth, per ingest process; 0 = no limit" },
  { name: "ACU_WS_PER_TOKEN", default: "50", help: "concurrent alert-stream WebSockets per token" },
  { name: "ACU_DEFAULT_THRESHOLD", default: "50", help: "threshold in whole percent for exercises without one" },
  { name: "ACU_PARTITIONS", default: "6", help: "partitions of student-reports and alerts (fixed when the log is created)" },
  { name: "ACU_ANALYZER_SCHEDULE", default: "0 * * * * *", help: "cron (with seconds) for analyzer runs; 'off' for on demand only" },
  { name: "ACU_CELL_SIZE_DEG", default: "0.1", help: "hotspot grid cell size in degrees (change needs `acu analyze --rebuild`)" },
  { name: "ACU_REGION_RADIUS_KM", default: "60", help: "a report further than this from every catalogue city is in region 'unknown'" },
  { name: "ACU_SINK_FLUSH_MS", default: "10000", help: "longest a report waits in the sink before its lake file is written" },
  { name: "ACU_SINK_FLUSH_RECORDS", default: "50000", help: "records per partition that trigger a lake file" },
  { name: "ACU_ALERT_FEED_SIZE", default: "20000", help: "deployment orders kept for GET /api/alerts and stream resume" },
  { name: "ACU_KAFKA_BROKERS", default: "(embedded log)", help: "host:port,… of a Kafka cluster for the bus" },
  { name: "ACU_KAFKA_REPLICATION", default: "min(3, brokers)", help: "replication factor of topics acu creates" },
  { name: "ACU_KAFKA_NAMESPACE", default: "(none)", help: "prefix of acu's topic and group names, to share a Kafka cluster" },
  { name: "ACU_KAFKA_CLIENT_LOG", default: "nothing", help: "Kafka client (kafkajs) log level: nothing, error, warn, info or debug" },
  { name: "ACU_ETCD_ENDPOINTS", default: "(embedded file)", help: "http://host:port,… of an etcd cluster for thresholds" },
  { name: "ACU_ETCD_PREFIX", default: "/acu/thresholds/", help: "etcd key prefix of thresholds" },
  { name: "ACU_ETCD_TOKEN_PREFIX", default: "/acu/tokens/", help: "etcd key prefix of API tokens (digests only)" },
  { name: "ACU_HDFS_URL", default: "(local files)", help: "WebHDFS address http://namenode:port of the lake" },
  { name: "ACU_HDFS_ROOT", default: "/acu/lake", help: "folder of the lake in HDFS" },
  { name: "ACU_HDFS_NAMENODE", default: "(webhdfs:// URIs)", help: "hdfs://namenode:port, how Spark names lake files" },
  { name: "ACU_SPARK_MASTER", default: "(embedded engine)", help: "spark://host:port: analyzer runs on Spark (needs ACU_DATABASE_URL)" },
  { name: "ACU_SPARK_HOME", default: "-", help: "Spark installation holding bin/spark-submit (with ACU_SPARK_MASTER)" },
  { name: "ACU_SPARK_PYTHON", default: "python3", help: "Python for the PySpark driver and executors" },
  { name: "ACU_SPARK_JDBC_JAR", default: "-", help: "PostgreSQL JDBC driver jar Spark writes partials with" },
  { name: "ACU_SPARK_APP", default: "spark/analyze_partials.py", help: "the PySpark application (set it for the compiled binary)" },
  { name: "ACU_LOG_FORMAT", flag: "--log-format", default: "json (text on a terminal)", help: "log lines as JSON (level, time, msg, fields) or as text" },
  { name: "ACU_LOG_LEVEL", default: "info", help: "least level logged: debug, info, warn, error or silent" },
  { name: "ACU_DATABASE_URL", default: "(embedded PGlite)", help: "postgres://… of a PostgreSQL warehouse" },
];

export class ConfigError extends Error {
  override name = "ConfigError";
}

function num(name: string, raw: string | undefined, def: number, check: (n: number) => boolean, what: string): number {
  if (raw === undefined || raw === "") return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || !check(n)) throw new ConfigError(`${name}=${raw}: ${what}`);
  return n;
}

export function parseRoles(raw: string | undefined): Role[] {
  if (raw === undefined || raw === "" || raw === "all") return [...ROLES];
  const roles = raw.split(",").map((r) => r.trim()).filter(Boolean);
  for (const r of roles) if (!(ROLES as readonly string[]).includes(r)) throw new ConfigError(`--role: unknown role "${r}"; roles are ${ROLES.join(", ")} or all`);
  return [...new Set(roles)] as Role[];
}

/** Flags override ACU_* variables, which override defaults. */
export function loadConfig(argv: string[], env: Record<string, string | undefined>): Config {
  const { values } = parseArgs({
    args: argv,
    options: { role: { type: "string" }, port: { type: "string" }, "ops-port": { type: "string" }, host: { type: "string" }, "data-dir": { type: "string" }, "log-format": { type: "string" } },
    strict: false,
    allowPositionals: true,
  });
  const port = num("port", (values.port as string | undefined) ?? env.ACU_HTTP_PORT, 8080, (n) => Number.isInteger(n) && n >= 0 && n < 65536, "must be a port number 0–65535");
  const schedule = env.ACU_ANALYZER_SCHEDULE ?? "0 * * * * *";
  const roles = parseRoles(values.role as string | undefined);
  return {
    roles,
    port,
    opsPort: opsPort((values["ops-port"] as string | undefined) ?? env.ACU_OPS_PORT, port, roles),
    host: (values.host as string | undefined) ?? env.ACU_HTTP_HOST ?? "127.0.0.1",
    dataDir: resolve((values["data-dir"] as string | undefined) ?? env.ACU_DATA_DIR ?? "./data"),
    staticTokens: staticTokens(env),
    ingestRateLimit: num("ACU_INGEST_RATE_LIMIT", env.ACU_INGEST_RATE_LIMIT, 20_000, (n) => n >= 0 && n <= 10_000_000, "must be reports per second, 0 (no limit) to 10000000"),
    wsPerToken: num("ACU_WS_PER_TOKEN", env.ACU_WS_PER_TOKEN, 50, (n) => Number.isInteger(n) && n >= 1 && n <= 100_000, "must be a whole number 1–100000"),
    defaultThreshold: num("ACU_DEFAULT_THRESHOLD", env.ACU_DEFAULT_THRESHOLD, 50, (n) => Number.isInteger(n) && n >= 0 && n <= 100, "must be a whole percent 0–100"),
    partitions: num("ACU_PARTITIONS", env.ACU_PARTITIONS, 6, (n) => Number.isInteger(n) && n >= 1 && n <= 1024, "must be a whole number 1–1024"),
    analyzerSchedule: schedule === "off" || schedule === "" ? null : schedule,
    cellSizeDeg: num("ACU_CELL_SIZE_DEG", env.ACU_CELL_SIZE_DEG, 0.1, (n) => n > 0 && n <= 10, "must be a number of degrees in (0, 10]"),
    regionRadiusKm: num("ACU_REGION_RADIUS_KM", env.ACU_REGION_RADIUS_KM, 60, (n) => n > 0 && n <= 1000, "must be in (0, 1000] km"),
    sinkFlushMs: num("ACU_SINK_FLUSH_MS", env.ACU_SINK_FLUSH_MS, 10_000, (n) => Number.isInteger(n) && n >= 10, "must be a whole number of milliseconds ≥ 10"),
    sinkFlushRecords: num("ACU_SINK_FLUSH_RECORDS", env.ACU_SINK_FLUSH_RECORDS, 50_000, (n) => Number.isInteger(n) && n >= 1, "must be a whole number ≥ 1"),
    alertFeedCapacity: num("ACU_ALERT_FEED_SIZE", env.ACU_ALERT_FEED_SIZE, 20_000, (n) => Number.isInteger(n) && n >= 10, "must be a whole number ≥ 10"),
    kafkaBrokers: list("ACU_KAFKA_BROKERS", env.ACU_KAFKA_BROKERS, /^[A-Za-z0-9.-]+:\d+$/, "host:port"),
    kafkaReplication: env.ACU_KAFKA_REPLICATION ? num("ACU_KAFKA_REPLICATION", env.ACU_KAFKA_REPLICATION, 1, (n) => Number.isInteger(n) && n >= 1, "must be a whole number ≥ 1") : null,
    etcdEndpoints: list("ACU_ETCD_ENDPOINTS", env.ACU_ETCD_ENDPOINTS, /^https?:\/\/[A-Za-z0-9.-]+:\d+$/, "http://host:port"),
    etcdPrefix: env.ACU_ETCD_PREFIX || "/acu/thresholds/",
    etcdTokenPrefix: env.ACU_ETCD_TOKEN_PREFIX || "/acu/tokens/",
    kafkaNamespace: namespace(env.ACU_KAFKA_NAMESPACE),
    kafkaClientLog: kafkaClientLog(env.ACU_KAFKA_CLIENT_LOG),
    databaseUrl: databaseUrl(env.ACU_DATABASE_URL),
    spark: spark(env),
    hdfsUrl: list("ACU_HDFS_URL", env.ACU_HDFS_URL, /^https?:\/\/[A-Za-z0-9.-]+:\d+\/?$/, "http://host:port")?.[0] ?? null,
    hdfsRoot: hdfsRoot(env.ACU_HDFS_ROOT),
    logFormat: oneOf("--log-format", (values["log-format"] as string | undefined) ?? env.ACU_LOG_FORMAT, LOG_FORMATS, defaultLogFormat(process.stdout.isTTY)),
    logLevel: oneOf("ACU_LOG_LEVEL", env.ACU_LOG_LEVEL, LOG_LEVELS, "info"),
    hdfsNamenode: list("ACU_HDFS_NAMENODE", env.ACU_HDFS_NAMENODE, /^hdfs:\/\/[A-Za-z0-9.-]+:\d+$/, "hdfs://host:port")?.[0] ?? null,
  };
}

export interface StaticToken {
  /** The variable it came from, named in messages instead of the secret. */
  variable: string;
  scope: Scope;
  token: string;
}

const TOKEN_VARS: Array<[string, Scope]> = [
  ["ACU_INGEST_TOKEN", "ingest"],
  ["ACU_OPERATOR_TOKEN", "operator"],
  ["ACU_ADMIN_TOKEN", "operator"],
  ["ACU_VIEWER_TOKEN", "viewer"],
];

/** Static tokens: each set one must be 16+ printable characters (it travels in a header and a subprotocol). */
function staticTokens(env: Record<string, string | undefined>): StaticToken[] {
  const out: StaticToken[] = [];
  for (const [variable, scope] of TOKEN_VARS) {
    const token = env[variable];
    if (token === undefined || token === "") continue;
    if (token.length < 16) throw new ConfigError(`${variable} must be at least 16 characters`);
    if (!/^[\x21-\x7e]+$/.test(token) || /[,;"\\]/.test(token)) throw new ConfigError(`${variable} may hold only printable ASCII without spaces, commas, semicolons, quotes or backslashes`);
    // The deprecated alias holding the same value as ACU_OPERATOR_TOKEN is one token, not two.
    if (!out.some((t) => t.token === token && t.scope === scope)) out.push({ variable, scope, token });
  }
  for (const a of out) for (const b of out) if (a.token === b.token && a.scope !== b.scope) throw new ConfigError(`${a.variable} and ${b.variable} hold the same token; each scope needs its own`);
  return out;
}

/** The ops port: any port but the http one of a process that listens there (which serves the same paths). */
function opsPort(raw: string | undefined, httpPort: number, roles: Role[]): number | null {
  if (raw === undefined || raw === "") return null;
  const n = num("--ops-port", raw, 0, (x) => Number.isInteger(x) && x >= 0 && x < 65536, "must be a port number 0–65535");
  if (n !== 0 && n === httpPort && (roles.includes("http") || roles.includes("ingest")))
    throw new ConfigError(`--ops-port ${n} is the http port of this process, which serves /healthz, /readyz and /metrics already; choose another or leave it unset`);
  return n;
}

function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], def: T): T {
  if (raw === undefined || raw === "") return def;
  const v = allowed.find((a) => a === raw.toLowerCase());
  if (!v) throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, not "${raw}"`);
  return v;
}

function list(name: string, raw: string | undefined, item: RegExp, shape: string): string[] | null {
  if (raw === undefined || raw.trim() === "") return null;
  const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!item.test(i)) throw new ConfigError(`${name}: "${i}" is not ${shape}`);
  return items;
}

function spark(env: Record<string, string | undefined>): Config["spark"] {
  const master = env.ACU_SPARK_MASTER;
  if (!master) return null;
  if (!/^spark:\/\/[A-Za-z0-9.-]+:\d+$/.test(master)) throw new ConfigError(`ACU_SPARK_MASTER: "${master}" is not spark://host:port`);
  if (!env.ACU_DATABASE_URL) throw new ConfigError("ACU_SPARK_MASTER needs ACU_DATABASE_URL: Spark writes its partial aggregates to PostgreSQL over JDBC");
  if (!env.ACU_SPARK_HOME) throw new ConfigError("ACU_SPARK_MASTER needs ACU_SPARK_HOME (the folder with bin/spark-submit)");
  if (!env.ACU_SPARK_JDBC_JAR) throw new ConfigError("ACU_SPARK_MASTER needs ACU_SPARK_JDBC_JAR (the PostgreSQL JDBC driver jar)");
  return { master, home: env.ACU_SPARK_HOME, python: env.ACU_SPARK_PYTHON || null, jdbcJar: env.ACU_SPARK_JDBC_JAR, app: env.ACU_SPARK_APP || null };
}

function hdfsRoot(raw: string | undefined): string {
  if (!raw) return "/acu/lake";
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(raw)) throw new ConfigError("ACU_HDFS_ROOT must be an absolute HDFS path of letters, digits, '.', '_' and '-'");
  return raw;
}

function namespace(raw: string | undefined): string {
  if (!raw) return "";
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(raw)) throw new ConfigError("ACU_KAFKA_NAMESPACE may hold only letters, digits, '.', '_' and '-'");
  return raw;
}

export const KAFKA_CLIENT_LOG_LEVELS = ["nothing", "error", "warn", "info", "debug"] as const;
export type KafkaClientLog = (typeof KAFKA_CLIENT_LOG_LEVELS)[number];

function kafkaClientLog(raw: string | undefined): KafkaClientLog {
  if (!raw) return "nothing";
  const level = KAFKA_CLIENT_LOG_LEVELS.find((l) => l === raw.toLowerCase());
  if (!level) throw new ConfigError(`ACU_KAFKA_CLIENT_LOG must be one of ${KAFKA_CLIENT_LOG_LEVELS.join(", ")}, not "${raw}"`);
  return level;
}

function databaseUrl(raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === "") return null;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError("ACU_DATABASE_URL is not a URL (postgres://user:password@host:port/database)");
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") throw new ConfigError("ACU_DATABASE_URL must start with postgres://");
  return raw;
}

/** What `acu config` prints: the resolved settings, secrets masked. */
export function describeConfig(c: Config, engines: Record<string, string>): Record<string, unknown> {
  const staticTokens = Object.fromEntries(c.staticTokens.map((t) => [t.variable, `**** (${t.scope})`]));
  return { ...c, staticTokens, databaseUrl: c.databaseUrl && maskUrl(c.databaseUrl), engines };
}
