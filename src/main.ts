#!/usr/bin/env bun
/**
 * acu — the composition root: parses the command line, builds adapters (src/engines.ts), starts the chosen
 * roles or runs a command (src/cli/). The only place that wires adapters to modules.
 */
import { createLogger, defaultLogFormat, type Logger } from "./log.ts";
import { checkEnvironment, describeEngines, resolveConfig, type Config, type Role } from "./config/index.ts";
import { dotenvVariables, type DotenvFiles } from "./config/dotenv.ts";
import { ConfigError } from "./config/setting.ts";
import type { Engines } from "./engines.ts";
import { portError, reservePort, type PortReservation } from "./http-port.ts";
import { parseCommandLine, UsageError } from "./cli/commands.ts";
import { help } from "./cli/help.ts";
import { configJson, configReport } from "./cli/config.ts";
import { parseTokenCommand, runTokenCommand, type TokenCommand } from "./cli/token.ts";
import { runSignalCommand, signalOptions, type SignalCommand } from "./cli/signal.ts";
import { parsePatrolsCommand, runPatrolsCommand } from "./cli/patrols.ts";
import { runAnalyzeCommand } from "./cli/analyze.ts";
import { type ExportCommand, parseExportCommand, runExportCommand } from "./cli/export.ts";
import { parseLakeCommand, runLakeCommand, type LakeCommand } from "./cli/lake.ts";
import { seedDemoCatalogue } from "./cli/demo-catalogue.ts";
import { logTokenStart, startTokens, tokenBanner, type TokenStart } from "./cli/start-tokens.ts";
import type { TokenStore } from "./ports/tokens.ts";
import type { Running } from "../modules/lifecycle.ts";
import { startAlert } from "../modules/alert/index.ts";
import { startSink } from "../modules/sink/index.ts";
import { ExerciseCatalogue, IngestAdmission, IngestLimits, ingestRoutes, RateLimiter, startRawIngest } from "../modules/ingest/index.ts";
import { EXERCISES } from "../modules/signal/exercises.ts";
import { startAnalyzer, nextTick, responseTimes, runsPage, windowedReads, type Analyzer } from "../modules/analyzer/index.ts";
import { AlertFeed, apiRoutes, authenticator, opsRoutes, startHttpServer, type AnalyticsApi } from "../modules/http/index.ts";
import { DispatchService, OutboxRelay, startDispatch } from "../modules/dispatch/index.ts";
import { healthcheck, healthcheckUrl, Readiness, startOpsServer } from "../modules/ops/index.ts";
import { enableProcessMetrics } from "./metrics.ts";

const VERSION = "0.1.0";
// Replaced by the configured one as soon as the configuration is read (ACU_LOG_FORMAT, ACU_LOG_LEVEL).
let log: Logger = createLogger({ format: defaultLogFormat(process.stdout.isTTY), level: "info" });
/** What a command prints as its result, on stdout. */
const print = (line: string) => console.log(line);

/**
 * The engines of this process. Loaded on first use, not at the top: importing every adapter (etcd's gRPC,
 * kafkajs, PGlite) costs more than everything else at start, and a usage error or `acu config` needs none.
 */
async function openEngines(cfg: Config): Promise<Engines> {
  const { Engines } = await import("./engines.ts");
  return new Engines(cfg, log);
}

/** `dotenv`: the `.env` files read and the variables that came from them, for the tokens notice. */
async function runRoles(cfg: Config, dotenv: DotenvFiles): Promise<void> {
  const has = (r: Role) => cfg.roles.includes(r);
  // Held before anything opens: a port in use fails the start at once, with nothing started.
  const port = has("http") || has("ingest") ? reservePort(cfg.host, cfg.port) : null;
  enableProcessMetrics(VERSION);
  const readiness = new Readiness(log);
  // Opened first and closed last: probes get /healthz 200 and /readyz 503 while the roles start and drain.
  let ops: ReturnType<typeof startOpsServer> | null = null;
  try {
    ops = cfg.opsPort === null ? null : startOpsServer({ port: cfg.opsPort, hostname: cfg.host, readiness, log });
  } catch (e) {
    port?.release();
    throw portError(e, cfg.host, cfg.opsPort!);
  }
  const running: Running[] = [];
  const open = await openEngines(cfg);
  let served: Served | null = null;
  try {
    // Before any role starts: a start that may not make demo tokens is refused with nothing running.
    const tokens = port ? await startTokens(cfg, await open.getTokens(), dotenv.variables) : null;
    // The exercise catalogue of both ingest paths (HTTP and raw topics).
    const catalogue = has("ingest") ? await catalogueFor(cfg, open) : null;
    if (has("ingest") && cfg.kafkaRawTopics.length > 0) running.push(await startRawTopics(cfg, open, catalogue));
    const analyzer = await startPipelineRoles(cfg, open, running);
    const dispatch = has("dispatch") || has("http") ? await startDispatchRoles(cfg, open, running) : null;
    // After alert and dispatch, whose output it reads: stopped after them, it flushes what they finish at their stop.
    if (has("sink")) running.push(await startSinkRole(cfg, open));
    if (port && tokens) served = await startServing(cfg, open, running, { analyzer, dispatch, catalogue }, port, tokens, readiness);
    readiness.watch(await open.probes());
  } catch (e) {
    port?.release();
    await stopAll(running, open);
    await ops?.stop().catch(() => {});
    throw e;
  }
  if (served) announceTokens(served, has("http"), dotenv);
  log.info(`acu ${VERSION} running roles: ${cfg.roles.join(", ")} on data dir ${cfg.dataDir}`);
  stopOnSignals(running, open, readiness, ops);
}

/** The ingest role's Kafka-native path: external producers' topics (ACU_KAFKA_RAW_TOPICS) moved into student-reports. */
async function startRawTopics(cfg: Config, engines: Engines, catalogue: ExerciseCatalogue | null): Promise<Running> {
  return startRawIngest({ bus: await engines.getBus(), log, sources: cfg.kafkaRawTopics, catalogue });
}

/** The alert and analyzer roles (the analyzer returned, for the API's on-demand runs); the sink starts after dispatch. */
async function startPipelineRoles(cfg: Config, engines: Engines, running: Running[]): Promise<Analyzer | null> {
  const has = (r: Role) => cfg.roles.includes(r);
  if (has("alert"))
    running.push(await startAlert({ bus: await engines.getBus(), thresholds: await engines.getThresholds(), log, recentCapacity: cfg.dedupeIds }));
  if (!has("analyzer")) return null;
  const analyzer = await startAnalyzer({
    lake: await engines.getLake(),
    warehouse: await engines.getWarehouse(),
    engine: await engines.getEngine(),
    cellSizeDeg: cfg.cellSizeDeg,
    trendPeriodSeconds: cfg.trendPeriodSeconds,
    thresholds: async () => (await engines.getThresholds()).current(),
    schedule: cfg.analyzerSchedule,
    log,
  });
  running.push({ name: "analyzer", stop: () => analyzer.stop() });
  return analyzer;
}

async function startSinkRole(cfg: Config, engines: Engines): Promise<Running> {
  const options = { flushAgeMs: cfg.sinkFlushMs, flushRecords: cfg.sinkFlushRecords, bufferBytes: cfg.sinkBufferBytes, recentIds: cfg.dedupeIds };
  return startSink({ bus: await engines.getBus(), lake: await engines.getLake(), log, options });
}

/**
 * The dispatch service, shared by the dispatch role and the http role of this process, and the dispatch
 * role itself when it runs. An http role without it still commits patrols' steps, whose events need a
 * relay to `incident-events`: it runs one (on a shared store, it publishes its own events at once and
 * takes over others' after a while, like any relay).
 */
async function startDispatchRoles(cfg: Config, engines: Engines, running: Running[]): Promise<DispatchService> {
  const store = await engines.getDispatchStore();
  const bus = await engines.getBus();
  const service = await DispatchService.open(store, log);
  if (cfg.roles.includes("dispatch")) running.push(await startDispatch({ bus, store, log, service, options: { ackTimeoutMs: cfg.dispatchAckTimeoutMs } }));
  else {
    const relay = new OutboxRelay(store, bus, { listen: (f) => service.writer.onEvents(f) }, { now: Date.now }, log.child({ component: "dispatch" }));
    relay.start();
    running.push({ name: "dispatch-relay", stop: () => relay.stop() });
  }
  // After the role and the relay, which use it.
  running.push({ name: "dispatch-service", stop: () => service.close() });
  return service;
}

interface Served {
  /** The address to print (loopback for a wildcard host). */
  url: string;
  tokens: TokenStart;
}

/** The ingest and http roles on one port: tokens, routes, then the server, which takes over the reserved port. */
async function startServing(
  cfg: Config,
  engines: Engines,
  running: Running[],
  roles: { analyzer: Analyzer | null; dispatch: DispatchService | null; catalogue: ExerciseCatalogue | null },
  port: PortReservation,
  tokens: TokenStart,
  readiness: Readiness,
): Promise<Served> {
  const store = await engines.getTokens();
  const routes = [];
  if (cfg.roles.includes("ingest")) {
    const rateLimit = new IngestLimits(
      cfg.ingestRateLimit > 0 ? new RateLimiter(cfg.ingestRateLimit) : null,
      cfg.ingestStudentRateLimit > 0 ? new RateLimiter(cfg.ingestStudentRateLimit) : null,
    );
    if (process.env.ACU_REGION_RADIUS_KM !== undefined)
      log.warn("ACU_REGION_RADIUS_KM is deprecated and ignored: a report's region is the map's region polygon that contains it; remove the variable");
    const admission = new IngestAdmission(cfg.ingestInflightBytes);
    routes.push(ingestRoutes({ bus: await engines.getBus(), log, rateLimit, catalogue: roles.catalogue, admission }));
  }
  const feed = cfg.roles.includes("http") ? await startAlertFeed(cfg, engines, running) : null;
  if (feed) {
    readiness.require("alert feed catching up", () => feed.ready);
    routes.push(await apiRoutesFor(cfg, engines, feed, roles));
  }
  routes.push(opsRoutes({ ready: () => readiness.state() }));
  port.release();
  let server: ReturnType<typeof startHttpServer>;
  try {
    const dispatch = feed ? roles.dispatch : null;
    server = startHttpServer({ port: port.port, hostname: cfg.host, routes, feed, dispatch, log, auth: authFor(cfg, store), wsPerToken: cfg.wsPerToken });
  } catch (e) {
    throw portError(e, cfg.host, port.port);
  }
  // The server stops first on shutdown: no new input while the rest finishes.
  running.unshift(server);
  log.info(`http: listening on http://${cfg.host}:${server.port} (dashboard at /)`);
  return { url: `http://${cfg.host === "0.0.0.0" || cfg.host === "::" ? "127.0.0.1" : cfg.host}:${server.port}`, tokens };
}

/**
 * ACU_EXERCISES=strict: the exercises with a threshold entry. On the embedded store (the demo) the
 * `acu signal` exercises are entered, so the demo works out of the box; a shared store (etcd) is left as
 * it is: its operators enter their exam's exercises.
 */
async function catalogueFor(cfg: Config, engines: Engines): Promise<ExerciseCatalogue | null> {
  if (cfg.exercises === "open") return null;
  const thresholds = await engines.getThresholds();
  if (thresholds.engine === "embedded") {
    const added = await seedDemoCatalogue(
      thresholds,
      cfg.dataDir,
      EXERCISES.map((e) => e.id),
      cfg.defaultThreshold,
    );
    if (added.length > 0) log.info(`ingest: ${added.length} exercises of acu signal entered in the catalogue (threshold ${cfg.defaultThreshold})`);
  }
  return new ExerciseCatalogue(thresholds);
}

function authFor(cfg: Config, store: TokenStore) {
  if (cfg.staticTokens.some((t) => t.variable === "ACU_ADMIN_TOKEN") && !cfg.staticTokens.some((t) => t.variable === "ACU_OPERATOR_TOKEN"))
    log.warn("ACU_ADMIN_TOKEN is deprecated: set ACU_OPERATOR_TOKEN instead (the value is accepted as the operator token)");
  return authenticator(
    cfg.staticTokens.map((t) => ({ id: `env:${t.variable}`, scope: t.scope, token: t.token })),
    store,
  );
}

async function startAlertFeed(cfg: Config, engines: Engines, running: Running[]): Promise<AlertFeed> {
  const feed = new AlertFeed(await engines.getBus(), cfg.alertFeedCapacity, log);
  await feed.start();
  running.push({ name: "alert-feed", stop: () => feed.stop() });
  return feed;
}

async function apiRoutesFor(
  cfg: Config,
  engines: Engines,
  feed: AlertFeed,
  { analyzer, dispatch }: { analyzer: Analyzer | null; dispatch: DispatchService | null },
) {
  const warehouse = await engines.getWarehouse();
  const thresholds = await engines.getThresholds();
  const reads = windowedReads({ warehouse, thresholds: () => thresholds.current(), cellSizeDeg: cfg.cellSizeDeg, trendPeriodSeconds: cfg.trendPeriodSeconds });
  const analytics: AnalyticsApi = {
    exercises: (page, window) => reads.exercises(page, window),
    hotspots: (id, limit, window) => reads.hotspots(id, limit, window),
    regions: (id, window) => reads.regions(id, window),
    trends: (q) => reads.trends(q),
    runs: (page) => runsPage(warehouse, page),
    responseTimes: () => responseTimes(warehouse),
    runNow: analyzer ? () => analyzer.runNow() : null,
    // The analyzer's own timer when it runs here; else the same ACU_ANALYZER_SCHEDULE read by this process.
    schedule: () => ({
      cron: cfg.analyzerSchedule,
      nextRunAt: (analyzer ? analyzer.nextRunAt() : nextTick(cfg.analyzerSchedule))?.toISOString() ?? null,
    }),
  };
  // Loaded here, not at the top: the dashboard is bundled when this module loads, which CLI commands
  // (acu token, acu config) do not need.
  const { dashboard } = await import("../web/assets.ts");
  return apiRoutes({ thresholds, feed, analytics, dashboard, dispatch, log });
}

/** The banner for the person who started acu, on stderr: stdout carries only log lines (JSON for shippers). */
function announceTokens(served: Served, withDashboard: boolean, dotenv: DotenvFiles): void {
  const lines = tokenBanner(served.tokens, withDashboard ? served.url : null, dotenv.files);
  if (lines.length > 0) process.stderr.write(`${lines.join("\n")}\n`);
  logTokenStart(served.tokens, log);
}

async function stopAll(running: Running[], engines: Engines): Promise<void> {
  for (const r of [...running].reverse()) await r.stop().catch(() => {});
  await engines.close().catch(() => {});
}

function stopOnSignals(running: Running[], engines: Engines, readiness: Readiness, ops: Running | null): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Not ready first: load balancers and orchestrators stop sending input while the roles finish.
    readiness.drain(signal);
    log.info(`${signal}: stopping`);
    const force = setTimeout(() => {
      log.warn("shutdown took longer than 10 s; exiting");
      process.exit(1);
    }, 10_000);
    for (const r of running) {
      try {
        await r.stop();
      } catch (e) {
        log.warn(`${r.name}: stop failed: ${(e as Error).message}`);
      }
    }
    await engines.close().catch((e) => log.info(`closing engines: ${(e as Error).message}`));
    readiness.stop();
    await ops?.stop().catch(() => {});
    clearTimeout(force);
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

async function tokenCommand(cfg: Config, cmd: TokenCommand): Promise<void> {
  const open = await openEngines(cfg);
  try {
    await runTokenCommand(cmd, await open.getTokens(), print);
  } finally {
    await open.close();
  }
}

async function lakeCommand(cfg: Config, cmd: LakeCommand): Promise<void> {
  const open = await openEngines(cfg);
  try {
    await runLakeCommand(cmd, { lake: await open.getLake(), bus: await open.getBus() }, print);
  } finally {
    await open.close();
  }
}

async function analyzeCommand(cfg: Config, rebuild: boolean): Promise<void> {
  const open = await openEngines(cfg);
  try {
    const deps = {
      lake: await open.getLake(),
      warehouse: await open.getWarehouse(),
      engine: await open.getEngine(),
      cellSizeDeg: cfg.cellSizeDeg,
      trendPeriodSeconds: cfg.trendPeriodSeconds,
      log,
    };
    await runAnalyzeCommand(deps, rebuild, print);
  } finally {
    await open.close();
  }
}

async function exportCommand(cfg: Config, cmd: ExportCommand): Promise<void> {
  const open = await openEngines(cfg);
  try {
    const deps = { warehouse: await open.getWarehouse(), thresholds: await (await open.getThresholds()).current(), cellSizeDeg: cfg.cellSizeDeg };
    await runExportCommand(
      deps,
      cmd,
      (l) => process.stderr.write(`${l}\n`),
      (text) => process.stdout.write(text),
    );
  } finally {
    await open.close();
  }
}

/** `acu healthcheck` (container health checks; the images have no curl): exit 1 unless /readyz answers 200. */
async function runHealthcheck(cfg: Config): Promise<void> {
  const r = await healthcheck(healthcheckUrl(cfg));
  (r.ok ? console.log : console.error)(r.message);
  if (!r.ok) process.exitCode = 1;
}

/** `acu signal`: over HTTP, or with --kafka through a plain Kafka producer on ACU_KAFKA_BROKERS (and its SASL user). */
async function signalCommand(command: SignalCommand): Promise<void> {
  if (!command.kafka) return runSignalCommand(command, print);
  const bus = resolveConfig({}, process.env).config;
  if (!bus.kafkaBrokers) throw new ConfigError("acu signal --kafka needs ACU_KAFKA_BROKERS: the Kafka cluster to write to");
  const { openRawTopicProducer } = await import("./engines.ts");
  const producer = await openRawTopicProducer(bus.kafkaBrokers, bus.kafkaSasl, command.kafka.topic);
  try {
    await runSignalCommand(command, print, (messages) => producer.send(messages));
  } finally {
    await producer.close();
  }
}

async function main(argv: string[]): Promise<void> {
  // Everything is checked before anything starts: the command line, then the environment, then the values.
  const line = parseCommandLine(argv);
  if (line.help) return print(help(VERSION));
  if (line.version) return print(VERSION);
  checkEnvironment(process.env);
  if (line.command.name === "signal") return signalCommand(signalOptions(line, process.env));
  if (line.command.name === "patrols") return runPatrolsCommand(parsePatrolsCommand(line, process.env), log, print);
  const dotenv = dotenvVariables(process.cwd(), process.env);
  const resolved = resolveConfig(line.flags, process.env, dotenv.variables);
  const cfg = resolved.config;
  log = createLogger({ format: cfg.logFormat, level: cfg.logLevel });
  if (line.command.name === "healthcheck") return runHealthcheck(cfg);
  if (line.command.name === "config")
    return print(line.flags.json ? configJson(resolved, describeEngines(cfg)) : configReport(resolved, describeEngines(cfg), dotenv));
  if (line.command.name === "token") return tokenCommand(cfg, parseTokenCommand(line));
  if (line.command.name === "analyze") return analyzeCommand(cfg, line.flags.rebuild === true);
  if (line.command.name === "lake") return lakeCommand(cfg, parseLakeCommand(line));
  if (line.command.name === "export") return exportCommand(cfg, parseExportCommand(line));
  return runRoles(cfg, dotenv);
}

// Exit status: 2 for a command line or configuration that cannot run (nothing was started), 1 for a failure.
main(process.argv.slice(2)).catch((e: Error) => {
  if (e instanceof UsageError) console.error(`${e.headline}\n${e.usage}`);
  else console.error(`acu: ${e instanceof ConfigError ? "" : "error: "}${e.message}`);
  process.exit(e instanceof ConfigError ? 2 : 1);
});
