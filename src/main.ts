#!/usr/bin/env bun
/**
 * acu — the composition root: parses flags, builds adapters, starts the chosen roles. The only place that
 * wires adapters to modules.
 */
import { join } from "node:path";
import { createLogger, defaultLogFormat, type Logger } from "./log.ts";
import { ConfigError, describeConfig, ENV_VARS, loadConfig, maskUrl, ROLES, type Config } from "./config.ts";
import { EmbeddedLogBus } from "./adapters/embedded/log-bus.ts";
import { FileThresholdStore } from "./adapters/embedded/file-thresholds.ts";
import { FileTokenStore } from "./adapters/embedded/file-tokens.ts";
import { LocalLake } from "./adapters/embedded/local-lake.ts";
import { PgliteWarehouse } from "./adapters/embedded/pglite-warehouse.ts";
import { ArrowAnalyticsEngine } from "./adapters/embedded/arrow-engine.ts";
import { pgliteAssets } from "./adapters/embedded/pglite-assets.ts";
import { KafkaBus } from "./adapters/kafka/kafka-bus.ts";
import { EtcdThresholdStore } from "./adapters/etcd/etcd-thresholds.ts";
import { EtcdTokenStore } from "./adapters/etcd/etcd-tokens.ts";
import { PostgresWarehouse } from "./adapters/postgres/postgres-warehouse.ts";
import { WebHdfsLake } from "./adapters/hdfs/webhdfs-lake.ts";
import { SparkAnalyticsEngine } from "./adapters/spark/spark-engine.ts";
import type { AnalyticsEngine } from "./ports/analytics-engine.ts";
import { TOPICS, type Bus } from "./ports/bus.ts";
import type { ThresholdStore } from "./ports/thresholds.ts";
import type { TokenStore } from "./ports/tokens.ts";
import { isScope, SCOPES, TOKEN_ID_PATTERN, validateLabel, type Scope } from "./domain/token.ts";
import type { Lake } from "./ports/lake.ts";
import type { Warehouse } from "./ports/warehouse.ts";
import { migrate } from "./warehouse/migrate.ts";
import type { Running } from "../modules/lifecycle.ts";
import { startAlert } from "../modules/alert/index.ts";
import { startSink } from "../modules/sink/index.ts";
import { ingestRoutes, RateLimiter } from "../modules/ingest/index.ts";
import { startAnalyzer, exerciseStats, hotspots, regionStats, recentRuns, type Analyzer } from "../modules/analyzer/index.ts";
import { AlertFeed, apiRoutes, authenticator, opsRoutes, startHttpServer, type AnalyticsApi } from "../modules/http/index.ts";
import { runSignal } from "../modules/signal/index.ts";
import { healthcheck, healthcheckUrl, Readiness, startOpsServer, type EngineProbe } from "../modules/ops/index.ts";
import { enableProcessMetrics } from "./metrics.ts";

const VERSION = "0.1.0";
// Replaced by the configured one as soon as the configuration is read (ACU_LOG_FORMAT, ACU_LOG_LEVEL).
let log: Logger = createLogger({ format: defaultLogFormat(process.stdout.isTTY), level: "info" });

function help(): string {
  const vars = ENV_VARS.map((v) => `  ${v.name.padEnd(24)}${(v.flag ?? "").padEnd(12)}${v.help} [${v.default}]`).join("\n");
  return `acu ${VERSION} — exam reports in, patrol alerts out, long-term storage and analytics, in one binary.

Usage:
  acu [--role=all|ROLE[,ROLE…]] [--port N] [--ops-port N] [--host ADDR] [--data-dir DIR]
      Run roles in this process (default: all). Roles: ${ROLES.join(", ")}.
  acu signal [--rate N] [--count N] [--target URL] [--batch N] [--seed N] [--token T]
      Send realistic reports to a running acu (count 0 = until Ctrl-C; token: ACU_INGEST_TOKEN).
  acu analyze [--rebuild]
      Run the analyzer once on the data dir (rebuild: recompute from the whole lake).
  acu config      Print the resolved configuration and engines (secrets masked).
  acu healthcheck Exit 0 when this machine's acu answers GET /readyz with 200 (ops port, else http port).
  acu token create --scope ingest|operator|viewer [--label L]
      Create an API token in the token store (etcd or the data dir) and print it, once.
  acu token list  List tokens (id, scope, label, creation time; never the secret).
  acu token revoke ID
      Revoke a token; every acu process refuses it within seconds.
  acu --help | --version

Environment (flags override variables):
${vars}

Signals: SIGTERM/SIGINT stop taking input, finish and commit in-flight work, and exit 0.`;
}

/**
 * The engines behind the ports, each opened only when a role needs it: a shared engine when its
 * variable is set (Kafka, etcd, PostgreSQL), else the embedded one under the data dir.
 */
class Engines {
  private bus?: Promise<Bus>;
  private thresholds?: Promise<ThresholdStore>;
  private tokens?: Promise<TokenStore>;
  private lake?: Promise<Lake>;
  private warehouse?: Promise<Warehouse>;
  constructor(private readonly cfg: Config) {}

  getBus(): Promise<Bus> {
    const partitions = { [TOPICS.reports]: this.cfg.partitions, [TOPICS.alerts]: this.cfg.partitions, [TOPICS.deadLetters]: 1, [TOPICS.incidentEvents]: this.cfg.partitions };
    return (this.bus ??= this.cfg.kafkaBrokers
      ? KafkaBus.open({ brokers: this.cfg.kafkaBrokers, partitions, replication: this.cfg.kafkaReplication ?? undefined, namespace: this.cfg.kafkaNamespace, clientLog: this.cfg.kafkaClientLog, log })
      : EmbeddedLogBus.open(join(this.cfg.dataDir, "bus"), partitions, log));
  }
  getThresholds(): Promise<ThresholdStore> {
    return (this.thresholds ??= this.cfg.etcdEndpoints
      ? EtcdThresholdStore.open({ endpoints: this.cfg.etcdEndpoints, prefix: this.cfg.etcdPrefix, defaultThreshold: this.cfg.defaultThreshold, log })
      : Promise.resolve(FileThresholdStore.open(join(this.cfg.dataDir, "thresholds.json"), this.cfg.defaultThreshold)));
  }
  getTokens(): Promise<TokenStore> {
    return (this.tokens ??= this.cfg.etcdEndpoints
      ? EtcdTokenStore.open({ endpoints: this.cfg.etcdEndpoints, prefix: this.cfg.etcdTokenPrefix, log })
      : Promise.resolve(FileTokenStore.open(join(this.cfg.dataDir, "tokens.json"))));
  }
  getLake(): Promise<Lake> {
    return (this.lake ??= (async () => {
      const lake = this.cfg.hdfsUrl
        ? await WebHdfsLake.open({ url: this.cfg.hdfsUrl, root: this.cfg.hdfsRoot, namenode: this.cfg.hdfsNamenode ?? undefined })
        : new LocalLake(join(this.cfg.dataDir, "lake"));
      await lake.removeLeftovers();
      return lake;
    })());
  }
  getWarehouse(): Promise<Warehouse> {
    return (this.warehouse ??= (async () => {
      const w = this.cfg.databaseUrl
        ? await PostgresWarehouse.open(this.cfg.databaseUrl)
        : await PgliteWarehouse.open(join(this.cfg.dataDir, "warehouse"), await pgliteAssets());
      await migrate(w);
      return w;
    })());
  }
  /** Spark when configured (it writes partials over JDBC to the PostgreSQL warehouse), else in-process over Arrow. */
  async getEngine(): Promise<AnalyticsEngine> {
    const lake = await this.getLake();
    const s = this.cfg.spark;
    if (s && this.cfg.databaseUrl)
      return new SparkAnalyticsEngine({ lake, master: s.master, sparkHome: s.home, python: s.python ?? undefined, jdbcJar: s.jdbcJar, databaseUrl: this.cfg.databaseUrl, appPath: s.app ?? undefined, log });
    return new ArrowAnalyticsEngine({ lake, warehouse: await this.getWarehouse() });
  }
  describe(): Record<string, string> {
    const c = this.cfg;
    return {
      bus: c.kafkaBrokers ? `kafka ${c.kafkaBrokers.join(",")}${c.kafkaNamespace ? ` namespace ${c.kafkaNamespace}` : ""}` : `embedded log in ${join(c.dataDir, "bus")}`,
      thresholds: c.etcdEndpoints ? `etcd ${c.etcdEndpoints.join(",")} prefix ${c.etcdPrefix}` : `embedded file ${join(c.dataDir, "thresholds.json")}`,
      tokens: c.etcdEndpoints ? `etcd ${c.etcdEndpoints.join(",")} prefix ${c.etcdTokenPrefix}` : `embedded file ${join(c.dataDir, "tokens.json")}`,
      lake: c.hdfsUrl ? `hdfs ${c.hdfsUrl} ${c.hdfsRoot} (${c.hdfsNamenode ?? "webhdfs URIs"})` : `local files in ${join(c.dataDir, "lake")}`,
      warehouse: c.databaseUrl ? `postgres ${maskUrl(c.databaseUrl)}` : `pglite in ${join(c.dataDir, "warehouse")}`,
      analytics: c.spark ? `spark ${c.spark.master}` : "embedded (Arrow)",
    };
  }
  /** The engines opened so far, for readiness: each answers ping() while its engine does. */
  async probes(): Promise<EngineProbe[]> {
    const opened = { bus: this.bus, thresholds: this.thresholds, tokens: this.tokens, lake: this.lake, warehouse: this.warehouse };
    const out: EngineProbe[] = [];
    for (const [engine, p] of Object.entries(opened)) {
      if (!p) continue;
      const e = await p;
      out.push({ engine, adapter: e.engine, ping: () => e.ping() });
    }
    return out;
  }
  async close(): Promise<void> {
    for (const p of [this.bus, this.thresholds, this.tokens, this.lake, this.warehouse]) if (p) await (await p).close();
  }
}

async function runRoles(cfg: Config): Promise<void> {
  const engines = new Engines(cfg);
  const running: Running[] = [];
  const has = (r: (typeof ROLES)[number]) => cfg.roles.includes(r);
  let analyzer: Analyzer | null = null;
  let feed: AlertFeed | null = null;
  let demo: Array<{ scope: Scope; id: string; token: string }> = [];
  let listening = "";
  enableProcessMetrics(VERSION);
  const readiness = new Readiness(log);
  // Opened first and closed last: probes get /healthz 200 and /readyz 503 while the roles start and drain.
  const ops = cfg.opsPort === null ? null : startOpsServer({ port: cfg.opsPort, hostname: cfg.host, readiness, log });

  try {
    if (has("alert")) running.push(await startAlert({ bus: await engines.getBus(), thresholds: await engines.getThresholds(), log }));
    if (has("sink")) {
      running.push(await startSink({ bus: await engines.getBus(), lake: await engines.getLake(), log, options: { flushAgeMs: cfg.sinkFlushMs, flushRecords: cfg.sinkFlushRecords } }));
    }
    if (has("analyzer")) {
      const lake = await engines.getLake();
      const warehouse = await engines.getWarehouse();
      analyzer = await startAnalyzer({ lake, warehouse, engine: await engines.getEngine(), cellSizeDeg: cfg.cellSizeDeg, schedule: cfg.analyzerSchedule, log });
      const a = analyzer;
      running.push({ name: "analyzer", stop: () => a.stop() });
    }
    if (has("http") || has("ingest")) {
      const tokens = await engines.getTokens();
      demo = await demoTokens(cfg, tokens);
      const auth = authenticator(
        cfg.staticTokens.map((t) => ({ id: `env:${t.variable}`, scope: t.scope, token: t.token })),
        tokens,
      );
      if (cfg.staticTokens.some((t) => t.variable === "ACU_ADMIN_TOKEN") && !cfg.staticTokens.some((t) => t.variable === "ACU_OPERATOR_TOKEN"))
        log.warn("ACU_ADMIN_TOKEN is deprecated: set ACU_OPERATOR_TOKEN instead (the value is accepted as the operator token)");
      const routes = [];
      if (has("ingest")) {
        const rateLimit = cfg.ingestRateLimit > 0 ? new RateLimiter(cfg.ingestRateLimit) : null;
        routes.push(ingestRoutes({ bus: await engines.getBus(), log, regionRadiusKm: cfg.regionRadiusKm, rateLimit }));
      }
      if (has("http")) {
        feed = new AlertFeed(await engines.getBus(), cfg.alertFeedCapacity, log);
        await feed.start();
        const fd = feed;
        readiness.require("alert feed catching up", () => fd.ready);
        running.push({ name: "alert-feed", stop: () => fd.stop() });
        const warehouse = await engines.getWarehouse();
        const thresholds = await engines.getThresholds();
        const a = analyzer;
        const analytics: AnalyticsApi = {
          exercises: async () => exerciseStats(warehouse, await thresholds.current()),
          hotspots: async (id, limit) => hotspots(warehouse, await thresholds.current(), id, limit, cfg.cellSizeDeg),
          regions: async (id) => regionStats(warehouse, await thresholds.current(), id ?? undefined),
          runs: (limit) => recentRuns(warehouse, limit),
          runNow: a ? () => a.runNow() : null,
        };
        // Loaded here, not at the top: the dashboard is bundled when this module loads, which CLI commands
        // (acu token, acu config) do not need.
        const { dashboard } = await import("../web/assets.ts");
        routes.push(
          apiRoutes({
            thresholds,
            feed,
            analytics,
            dashboard,
            log,
          }),
        );
      }
      routes.push(opsRoutes({ ready: () => readiness.state() }));
      const server = startHttpServer({ port: cfg.port, hostname: cfg.host, routes, feed, log, auth, wsPerToken: cfg.wsPerToken });
      // The server stops first on shutdown: no new input while the rest finishes.
      running.unshift(server);
      log.info(`http: listening on http://${cfg.host}:${server.port} (dashboard at /)`);
      listening = `http://${cfg.host === "0.0.0.0" || cfg.host === "::" ? "127.0.0.1" : cfg.host}:${server.port}`;
    }
    readiness.watch(await engines.probes());
  } catch (e) {
    for (const r of running.reverse()) await r.stop().catch(() => {});
    await engines.close().catch(() => {});
    await ops?.stop().catch(() => {});
    throw e;
  }

  if (demo.length > 0) printDemoTokens(demo, has("http") ? listening : null);
  log.info(`acu ${VERSION} running roles: ${cfg.roles.join(", ")} on data dir ${cfg.dataDir}`);

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

/**
 * Demo mode: with no static token and an empty store, nothing could call the API, so create one token per
 * scope. They are kept in the store (revocable with `acu token revoke`) and printed once, by the caller.
 */
async function demoTokens(cfg: Config, store: TokenStore): Promise<Array<{ scope: Scope; id: string; token: string }>> {
  if (cfg.staticTokens.length > 0 || (await store.list()).length > 0) return [];
  const out = [];
  for (const scope of SCOPES) out.push({ scope, ...(await store.create(scope, "demo")) });
  return out;
}

/** The only place a secret is ever printed by the server: the demo tokens, once, on stdout. */
function printDemoTokens(demo: Array<{ scope: Scope; id: string; token: string }>, url: string | null): void {
  const lines = [
    "demo mode: no token was configured, so one token per scope was created and is shown this once",
    "(kept as digests in the token store; `acu token list`, `acu token revoke <id>`):",
    ...demo.map((d) => `  ${d.scope.padEnd(9)}${d.token}  (id ${d.id})`),
  ];
  const viewer = demo.find((d) => d.scope === "viewer");
  if (url && viewer) lines.push(`dashboard: ${url}/#token=${viewer.token}`);
  // A banner for the person who started the demo, on stderr: stdout carries only log lines (JSON for shippers).
  process.stderr.write(`${lines.join("\n")}\n`);
  log.info("demo mode: one token per scope created", { tokenIds: demo.map((d) => d.id) });
}

async function runTokenCommand(cfg: Config, argv: string[]): Promise<void> {
  const { parseArgs } = await import("node:util");
  const { values, positionals } = parseArgs({ args: argv, options: { scope: { type: "string" }, label: { type: "string" } }, allowPositionals: true, strict: false });
  const sub = positionals[0];
  const usage = "usage: acu token create --scope ingest|operator|viewer [--label L] | acu token list | acu token revoke ID";
  if (sub !== "create" && sub !== "list" && sub !== "revoke") throw new ConfigError(sub ? `unknown token command "${sub}"; ${usage}` : usage);
  let scope: Scope | null = null;
  let label = "";
  if (sub === "create") {
    if (!isScope(values.scope)) throw new ConfigError(`--scope must be one of ${SCOPES.join(", ")}${values.scope === undefined ? "" : ` (got "${String(values.scope)}")`}`);
    scope = values.scope;
    const l = validateLabel(values.label as string | undefined);
    if (!l.ok) throw new ConfigError(`--label: ${l.message}`);
    label = l.value;
  }
  const id = positionals[1];
  if (sub === "revoke" && (id === undefined || !TOKEN_ID_PATTERN.test(id))) throw new ConfigError(`acu token revoke needs a token id (see acu token list)${id === undefined ? "" : `; "${id}" is not one`}`);
  const engines = new Engines(cfg);
  const store = await engines.getTokens();
  try {
    if (sub === "create") {
      const t = await store.create(scope!, label);
      console.log(JSON.stringify({ id: t.id, scope, label, token: t.token }));
    } else if (sub === "list") {
      for (const t of await store.list()) console.log(JSON.stringify(t));
    } else {
      if (!(await store.revoke(id!))) {
        console.error(`acu: no token has the id ${id}`);
        process.exitCode = 1;
      } else console.log(JSON.stringify({ revoked: id, appliesWithinMs: store.propagationMs }));
    }
  } finally {
    await engines.close();
  }
}

async function runSignalCommand(argv: string[]): Promise<void> {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({
    args: argv,
    options: { rate: { type: "string" }, count: { type: "string" }, target: { type: "string" }, batch: { type: "string" }, seed: { type: "string" }, token: { type: "string" } },
    allowPositionals: true,
  });
  const n = (v: string | undefined, d: number, name: string) => {
    if (v === undefined) return d;
    const x = Number(v);
    if (!Number.isFinite(x) || x < 0) throw new ConfigError(`--${name} must be a non-negative number`);
    return x;
  };
  const ac = new AbortController();
  process.on("SIGINT", () => ac.abort());
  process.on("SIGTERM", () => ac.abort());
  const result = await runSignal({
    target: values.target ?? `http://127.0.0.1:${process.env.ACU_HTTP_PORT ?? 8080}`,
    rate: n(values.rate, 1000, "rate"),
    count: n(values.count, 0, "count"),
    batchSize: n(values.batch, 500, "batch"),
    seed: values.seed === undefined ? undefined : n(values.seed, 0, "seed"),
    token: values.token ?? process.env.ACU_INGEST_TOKEN,
    signal: ac.signal,
  });
  console.log(JSON.stringify(result));
}

async function runAnalyzeCommand(cfg: Config, rebuild: boolean): Promise<void> {
  const engines = new Engines(cfg);
  const lake = await engines.getLake();
  const warehouse = await engines.getWarehouse();
  const analyzer = await startAnalyzer({ lake, warehouse, engine: await engines.getEngine(), cellSizeDeg: cfg.cellSizeDeg, schedule: null, log });
  const summary = rebuild ? await analyzer.rebuild() : await analyzer.runNow();
  console.log(JSON.stringify(summary));
  await analyzer.stop();
  await engines.close();
  if (summary.outcome !== "succeeded") process.exit(1);
}

/** `acu healthcheck` (container health checks; the images have no curl): exit 1 unless /readyz answers 200. */
async function runHealthcheck(cfg: Config): Promise<void> {
  const r = await healthcheck(healthcheckUrl(cfg));
  (r.ok ? console.log : console.error)(r.message);
  if (!r.ok) process.exitCode = 1;
}

async function main(argv: string[]): Promise<void> {
  // A sub-command comes first: `acu signal --rate 10`, `acu --port 9000`.
  const command = argv[0] !== undefined && !argv[0].startsWith("-") ? argv[0] : undefined;
  if (argv.includes("--help") || argv.includes("-h") || command === "help") return void console.log(help());
  if (argv.includes("--version") || command === "version") return void console.log(VERSION);
  if (command === "signal") return runSignalCommand(argv.slice(1));
  const cfg = loadConfig(command ? argv.slice(1) : argv, process.env);
  log = createLogger({ format: cfg.logFormat, level: cfg.logLevel });
  if (command === "healthcheck") return runHealthcheck(cfg);
  if (command === "config") return void console.log(JSON.stringify(describeConfig(cfg, new Engines(cfg).describe()), null, 2));
  if (command === "token") return runTokenCommand(cfg, argv.slice(1));
  if (command === "analyze") return runAnalyzeCommand(cfg, argv.includes("--rebuild"));
  if (command !== undefined) throw new ConfigError(`unknown command "${command}"; see acu --help`);
  return runRoles(cfg);
}

main(process.argv.slice(2)).catch((e: Error) => {
  console.error(`acu: ${e instanceof ConfigError ? "" : "error: "}${e.message}`);
  process.exit(2);
});
