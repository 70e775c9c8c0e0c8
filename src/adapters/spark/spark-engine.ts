import { spawn } from "node:child_process";
import type { Logger } from "../../log.ts";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AnalyticsEngine, PartialsRequest, PartialsResult } from "../../ports/analytics-engine.ts";
import type { Lake } from "../../ports/lake.ts";
import { isTrendPeriod, TREND_PERIOD_RULE } from "../../domain/trend-period.ts";

export type SparkLogLevel = "debug" | "info" | "warn";

export interface SparkEngineOptions {
  lake: Lake;
  /** spark://host:port of the standalone master (local[N] works too, for a run by hand). */
  master: string;
  /** A Spark distribution: the pyspark package folder, with bin/spark-submit. */
  sparkHome: string;
  /** Python of the driver (and of executors, were any Python to run there); default: Spark's choice (python3). */
  python?: string;
  /** The PostgreSQL JDBC driver jar (org.postgresql:postgresql). */
  jdbcJar: string;
  /** The warehouse: postgres://user:password@host:port/db (the partials are appended there over JDBC). */
  databaseUrl: string;
  /** The Spark application; default spark/analyze_partials.py of this checkout. */
  appPath?: string;
  /** A run still going after this long is killed and fails. Default 10 minutes. */
  timeoutMs?: number;
  /** Default 512m each. */
  driverMemory?: string;
  executorMemory?: string;
  /**
   * JVM options of the driver and the executors. Default: the client compiler only and the serial GC,
   * which halves the CPU time of a run on small batches (JVM start and class loading dominate); a large
   * rebuild runs faster with "" (the JVM's defaults).
   */
  javaOptions?: string;
  /** Cores the application takes from the cluster (spark.cores.max). Default 1. */
  cores?: number;
  /** More --conf settings, e.g. { "spark.sql.shuffle.partitions": "8" }. */
  conf?: Record<string, string>;
  /** Spark's own output comes at "debug"; a run's start and end at "info". */
  log?: Logger;
}

/** Environment variable through which the application gets the JDBC password (not on its command line). */
export const JDBC_PASSWORD_ENV = "ACU_SPARK_JDBC_PASSWORD";
const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** Lines of Spark's output kept for the error of a failed run. */
const TAIL_LINES = 25;
/** Between SIGTERM and SIGKILL of a run being stopped. */
const KILL_GRACE_MS = 10_000;
/** The line spark/analyze_partials.py ends with when it fails. */
const FAILURE_PREFIX = "acu-analyzer failed:";
const DEFAULT_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Process groups of the runs going on. spark-submit runs in a group of its own (so that a stop reaches
 * the Python driver it starts), which also shields it from signals meant for acu: end them when acu exits.
 */
const running = new Set<number>();
let exitHook = false;
function track(pgid: number): void {
  running.add(pgid);
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    for (const g of running) {
      try {
        process.kill(-g, "SIGTERM");
      } catch {
        // Already gone.
      }
    }
  });
}

export interface JdbcTarget {
  url: string;
  user: string;
  password: string;
}

/** postgres://user:password@host:port/db?params → jdbc:postgresql://host:port/db?params, user and password apart. */
export function jdbcTarget(databaseUrl: string): JdbcTarget {
  let u: URL;
  try {
    u = new URL(databaseUrl);
  } catch {
    throw new Error("spark engine: the database URL is not a URL (want postgres://user:password@host:port/db)");
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:")
    throw new Error(`spark engine: the database URL must start with postgres:// (got ${u.protocol}//)`);
  if (!u.hostname) throw new Error("spark engine: the database URL has no host");
  const db = decodeURIComponent(u.pathname.replace(/^\//, ""));
  const user = decodeURIComponent(u.username);
  if (!user) throw new Error("spark engine: the database URL has no user");
  const url = `jdbc:postgresql://${u.hostname}:${u.port || "5432"}/${encodeURIComponent(db || user)}${u.search}`;
  return { url, user, password: decodeURIComponent(u.password) };
}

/**
 * The analytics engine on a Spark cluster: runs spark/analyze_partials.py with spark-submit (client deploy
 * mode) over the run's lake files; the application appends the partial aggregates to the warehouse's
 * partial_* tables over JDBC, in transactions of its own, and reports how many reports (and finished
 * incidents and response times, given incident files) it aggregated. The
 * analyzer then merges them (and checks that every partial table adds up to that count), or, when the run
 * fails, deletes whatever of them was written.
 */
export class SparkAnalyticsEngine implements AnalyticsEngine {
  readonly engine = "spark";
  private readonly o: SparkEngineOptions;
  private readonly jdbc: JdbcTarget;
  private readonly appPath: string;

  constructor(options: SparkEngineOptions) {
    this.o = options;
    this.jdbc = jdbcTarget(options.databaseUrl);
    this.appPath = options.appPath ?? join(REPO_ROOT, "spark", "analyze_partials.py");
  }

  async computePartials(req: PartialsRequest): Promise<PartialsResult> {
    if (!(Number.isFinite(req.cellSizeDeg) && req.cellSizeDeg > 0)) throw new Error(`cell size must be a positive number of degrees, got ${req.cellSizeDeg}`);
    if (!isTrendPeriod(req.trendPeriodSeconds)) throw new Error(`trend period ${TREND_PERIOD_RULE}, got ${req.trendPeriodSeconds}`);
    const dir = await mkdtemp(join(tmpdir(), "acu-spark-"));
    try {
      const filesFrom = join(dir, "files.txt");
      const result = join(dir, "result.json");
      await writeFile(filesFrom, this.uris(req.files));
      const incidentFiles = req.incidentFiles ?? [];
      const incidentsFrom = incidentFiles.length > 0 ? join(dir, "incident-files.txt") : undefined;
      if (incidentsFrom) await writeFile(incidentsFrom, this.uris(incidentFiles));
      const t0 = performance.now();
      this.log(`spark: run ${req.runId}: ${req.files.length + incidentFiles.length} file(s) on ${this.o.master}`, "info");
      await this.submit(req, dir, filesFrom, result, incidentsFrom);
      const out = await readResult(result, incidentsFrom !== undefined);
      this.log(
        `spark: run ${req.runId}: ${out.rows} report(s), ${out.incidents?.incidents ?? 0} finished incident(s) in ${Math.round(performance.now() - t0)} ms`,
        "info",
      );
      return out;
    } finally {
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }

  /** One lake URI per line, for the application's --files-from. */
  private uris(paths: string[]): string {
    return `${paths.map((f) => this.o.lake.uri(f)).join("\n")}\n`;
  }

  /** The spark-submit command line (no secret on it). */
  commandLine(req: PartialsRequest, filesFrom: string, result: string, incidentsFrom?: string): string[] {
    const o = this.o;
    const javaOptions = o.javaOptions ?? DEFAULT_JAVA_OPTIONS;
    const conf: Record<string, string> = {
      "spark.executor.memory": o.executorMemory ?? "512m",
      ...(javaOptions ? { "spark.executor.extraJavaOptions": javaOptions } : {}),
      "spark.cores.max": String(o.cores ?? 1),
      "spark.ui.enabled": "false",
      // Small aggregates: a few shuffle partitions, a few JDBC connections.
      "spark.sql.shuffle.partitions": "4",
      ...o.conf,
    };
    const args = [
      join(o.sparkHome, "bin", "spark-submit"),
      "--master",
      o.master,
      "--deploy-mode",
      "client",
      "--name",
      `acu-analyzer ${req.runId}`,
      "--jars",
      o.jdbcJar,
      "--driver-memory",
      o.driverMemory ?? "512m",
    ];
    for (const [k, v] of Object.entries(conf)) args.push("--conf", `${k}=${v}`);
    const log4j = join(dirname(this.appPath), "log4j2.properties");
    const driverOptions = [existsSync(log4j) ? `-Dlog4j2.configurationFile=file:${log4j}` : "", javaOptions].filter(Boolean).join(" ");
    if (driverOptions) args.push("--driver-java-options", driverOptions);
    args.push(
      this.appPath,
      "--run-id",
      req.runId,
      "--files-from",
      filesFrom,
      "--cell-size",
      String(req.cellSizeDeg),
      "--trend-period",
      String(req.trendPeriodSeconds),
      "--jdbc-url",
      this.jdbc.url,
      "--jdbc-user",
      this.jdbc.user,
      "--result",
      result,
    );
    if (incidentsFrom) args.push("--incident-files-from", incidentsFrom);
    return args;
  }

  /** Runs spark-submit in `cwd` (a scratch folder: Spark may leave files in its working directory). */
  private submit(req: PartialsRequest, cwd: string, filesFrom: string, result: string, incidentsFrom?: string): Promise<void> {
    const o = this.o;
    const [cmd, ...args] = this.commandLine(req, filesFrom, result, incidentsFrom);
    const env: Record<string, string | undefined> = { ...process.env, SPARK_HOME: o.sparkHome, [JDBC_PASSWORD_ENV]: this.jdbc.password };
    if (o.python) env.PYSPARK_PYTHON = env.PYSPARK_DRIVER_PYTHON = o.python;
    // A driver next to a loopback master must be reachable there: bind it to loopback too.
    if (env.SPARK_LOCAL_IP === undefined && /^spark:\/\/(127\.|localhost[:/]|\[::1\])/.test(o.master)) env.SPARK_LOCAL_IP = "127.0.0.1";
    const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;

    return new Promise<void>((resolve, reject) => {
      const tail: string[] = [];
      /** The application's own account of its failure (its last line when it fails). */
      let failure = "";
      const onLine = (line: string) => {
        if (line.trim() === "") return;
        if (line.startsWith(FAILURE_PREFIX)) failure = line.slice(FAILURE_PREFIX.length).trim();
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        this.log(`spark: ${line}`, "debug");
      };
      // Its own process group: spark-submit's JVM starts the Python driver, and a stop must reach both.
      const child = spawn(cmd!, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
      if (child.pid !== undefined) track(child.pid);
      for (const stream of [child.stdout, child.stderr]) {
        let buf = "";
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => {
          buf += chunk;
          let nl;
          while ((nl = buf.indexOf("\n")) >= 0) {
            onLine(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
          }
        });
        stream.on("end", () => buf && onLine(buf));
      }

      let timedOut = false;
      let killTimer: ReturnType<typeof setTimeout> | undefined;
      const signalGroup = (sig: NodeJS.Signals) => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, sig);
        } catch {
          // Already gone.
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        this.log(`spark: run ${req.runId} still going after ${timeoutMs} ms: stopping it`, "warn");
        signalGroup("SIGTERM");
        killTimer = setTimeout(() => signalGroup("SIGKILL"), KILL_GRACE_MS);
      }, timeoutMs);

      const output = () => (failure ? `: ${failure}` : "") + (tail.length > 0 ? `\n--- last lines of its output ---\n${tail.join("\n")}` : " (no output)");
      child.on("error", (e) => {
        clearTimeout(timer);
        clearTimeout(killTimer);
        reject(new Error(`spark engine: cannot run ${cmd}: ${e.message}`, { cause: e }));
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        clearTimeout(killTimer);
        if (child.pid !== undefined) running.delete(child.pid);
        // A driver that failed may leave its Python process behind: end the whole group.
        if (timedOut || code !== 0) signalGroup("SIGKILL");
        if (timedOut) reject(new Error(`spark engine: run ${req.runId} timed out after ${timeoutMs} ms and was stopped${output()}`));
        else if (code !== 0) reject(new Error(`spark engine: spark-submit exited with ${code !== null ? `code ${code}` : `signal ${signal}`}${output()}`));
        else resolve();
      });
    });
  }

  private log(msg: string, level: SparkLogLevel): void {
    this.o.log?.[level](msg);
  }
}

/** The application's account of what it read: reports, and the incident counts when it was given incident files. */
async function readResult(path: string, withIncidents: boolean): Promise<PartialsResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new Error(`spark engine: the application exited without writing its result (${(e as Error).message})`, { cause: e });
  }
  const parsed = JSON.parse(text) as { rows?: unknown; incidents?: { incidents?: unknown; responses?: unknown } };
  const count = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  const { rows, incidents } = parsed;
  if (!count(rows)) throw new Error(`spark engine: bad result from the application: ${text}`);
  if (!withIncidents) return { rows };
  if (!(incidents && count(incidents.incidents) && count(incidents.responses)))
    throw new Error(`spark engine: the application did not count the incident files: ${text}`);
  return { rows, incidents: { incidents: incidents.incidents, responses: incidents.responses } };
}
