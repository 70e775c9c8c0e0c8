#!/usr/bin/env bun
/**
 * acu — the composition root: parses flags, builds adapters, starts the chosen roles. The only place that
 * wires adapters to modules.
 */
import { join } from "node:path";
import { ConfigError, describeConfig, ENV_VARS, loadConfig, maskUrl, ROLES, type Config } from "./config.ts";
import { EmbeddedLogBus } from "./adapters/embedded/log-bus.ts";
import { FileThresholdStore } from "./adapters/embedded/file-thresholds.ts";
import { LocalLake } from "./adapters/embedded/local-lake.ts";
import { PgliteWarehouse } from "./adapters/embedded/pglite-warehouse.ts";
import { ArrowAnalyticsEngine } from "./adapters/embedded/arrow-engine.ts";
import { pgliteAssets } from "./adapters/embedded/pglite-assets.ts";
import { KafkaBus } from "./adapters/kafka/kafka-bus.ts";
import { EtcdThresholdStore } from "./adapters/etcd/etcd-thresholds.ts";
import { PostgresWarehouse } from "./adapters/postgres/postgres-warehouse.ts";
import { WebHdfsLake } from "./adapters/hdfs/webhdfs-lake.ts";
import { SparkAnalyticsEngine } from "./adapters/spark/spark-engine.ts";
import type { AnalyticsEngine } from "./ports/analytics-engine.ts";
import { TOPICS, type Bus } from "./ports/bus.ts";
import type { ThresholdStore } from "./ports/thresholds.ts";
import type { Lake } from "./ports/lake.ts";
import type { Warehouse } from "./ports/warehouse.ts";
import { migrate } from "./warehouse/migrate.ts";
import type { Running } from "../modules/lifecycle.ts";
import { startAlert } from "../modules/alert/index.ts";
import { startSink } from "../modules/sink/index.ts";
import { ingestRoutes } from "../modules/ingest/index.ts";
import { startAnalyzer, exerciseStats, hotspots, regionStats, recentRuns, type Analyzer } from "../modules/analyzer/index.ts";
import { AlertFeed, apiRoutes, opsRoutes, startHttpServer, type AnalyticsApi } from "../modules/http/index.ts";
import { runSignal } from "../modules/signal/index.ts";
import { dashboard } from "../web/assets.ts";

const VERSION = "0.1.0";
const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

function help(): string {
  const vars = ENV_VARS.map((v) => `  ${v.name.padEnd(24)}${(v.flag ?? "").padEnd(12)}${v.help} [${v.default}]`).join("\n");
  return `acu ${VERSION} — exam reports in, patrol alerts out, long-term storage and analytics, in one binary.

Usage:
  acu [--role=all|ROLE[,ROLE…]] [--port N] [--host ADDR] [--data-dir DIR]
      Run roles in this process (default: all). Roles: ${ROLES.join(", ")}.
  acu signal [--rate N] [--count N] [--target URL] [--batch N] [--seed N]
      Send realistic reports to a running acu (count 0 = until Ctrl-C).
  acu analyze [--rebuild]
      Run the analyzer once on the data dir (rebuild: recompute from the whole lake).
  acu config      Print the resolved configuration and engines (secrets masked).
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
  private lake?: Promise<Lake>;
  private warehouse?: Promise<Warehouse>;
  constructor(private readonly cfg: Config) {}

  getBus(): Promise<Bus> {
    const partitions = { [TOPICS.reports]: this.cfg.partitions, [TOPICS.alerts]: this.cfg.partitions, [TOPICS.deadLetters]: 1 };
    return (this.bus ??= this.cfg.kafkaBrokers
      ? KafkaBus.open({ brokers: this.cfg.kafkaBrokers, partitions, replication: this.cfg.kafkaReplication ?? undefined, namespace: this.cfg.kafkaNamespace, log })
      : EmbeddedLogBus.open(join(this.cfg.dataDir, "bus"), partitions));
  }
  getThresholds(): Promise<ThresholdStore> {
    return (this.thresholds ??= this.cfg.etcdEndpoints
      ? EtcdThresholdStore.open({ endpoints: this.cfg.etcdEndpoints, prefix: this.cfg.etcdPrefix, defaultThreshold: this.cfg.defaultThreshold, log })
      : Promise.resolve(FileThresholdStore.open(join(this.cfg.dataDir, "thresholds.json"), this.cfg.defaultThreshold)));
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
      lake: c.hdfsUrl ? `hdfs ${c.hdfsUrl} ${c.hdfsRoot} (${c.hdfsNamenode ?? "webhdfs URIs"})` : `local files in ${join(c.dataDir, "lake")}`,
      warehouse: c.databaseUrl ? `postgres ${maskUrl(c.databaseUrl)}` : `pglite in ${join(c.dataDir, "warehouse")}`,
      analytics: c.spark ? `spark ${c.spark.master}` : "embedded (Arrow)",
    };
  }
  async close(): Promise<void> {
    for (const p of [this.bus, this.thresholds, this.lake, this.warehouse]) if (p) await (await p).close();
  }
}

async function runRoles(cfg: Config): Promise<void> {
  const engines = new Engines(cfg);
  const running: Running[] = [];
  const has = (r: (typeof ROLES)[number]) => cfg.roles.includes(r);
  let analyzer: Analyzer | null = null;
  let feed: AlertFeed | null = null;

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
      const routes = [];
      if (has("ingest")) routes.push(ingestRoutes({ bus: await engines.getBus(), log, regionRadiusKm: cfg.regionRadiusKm }));
      if (has("http")) {
        feed = new AlertFeed(await engines.getBus(), cfg.alertFeedCapacity, log);
        await feed.start();
        const fd = feed;
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
        routes.push(
          apiRoutes({
            thresholds,
            feed,
            analytics,
            operatorToken: cfg.adminToken,
            dashboard,
          }),
        );
      }
      const f = feed;
      routes.push(opsRoutes({ ready: () => (!f || f.ready ? { ready: true, waitingFor: [] } : { ready: false, waitingFor: ["alert feed catching up"] }) }));
      const server = startHttpServer({ port: cfg.port, hostname: cfg.host, routes, feed, log });
      // The server stops first on shutdown: no new input while the rest finishes.
      running.unshift(server);
      log(`http: listening on http://${cfg.host}:${server.port} (dashboard at /)`);
    }
  } catch (e) {
    for (const r of running.reverse()) await r.stop().catch(() => {});
    await engines.close().catch(() => {});
    throw e;
  }

  if (cfg.adminTokenGenerated && (has("http") || has("analyzer"))) log(`operator token (generated for this run; set ACU_ADMIN_TOKEN to keep one): ${cfg.adminToken}`);
  log(`acu ${VERSION} running roles: ${cfg.roles.join(", ")} on data dir ${cfg.dataDir}`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    const force = setTimeout(() => {
      log("shutdown took longer than 10 s; exiting");
      process.exit(1);
    }, 10_000);
    for (const r of running) {
      try {
        await r.stop();
      } catch (e) {
        log(`${r.name}: stop failed: ${(e as Error).message}`);
      }
    }
    await engines.close().catch((e) => log(`closing engines: ${(e as Error).message}`));
    clearTimeout(force);
    log("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
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

async function main(argv: string[]): Promise<void> {
  // A sub-command comes first: `acu signal --rate 10`, `acu --port 9000`.
  const command = argv[0] !== undefined && !argv[0].startsWith("-") ? argv[0] : undefined;
  if (argv.includes("--help") || argv.includes("-h") || command === "help") return void console.log(help());
  if (argv.includes("--version") || command === "version") return void console.log(VERSION);
  if (command === "signal") return runSignalCommand(argv.slice(1));
  const cfg = loadConfig(command ? argv.slice(1) : argv, process.env);
  if (command === "config") return void console.log(JSON.stringify(describeConfig(cfg, new Engines(cfg).describe()), null, 2));
  if (command === "analyze") return runAnalyzeCommand(cfg, argv.includes("--rebuild"));
  if (command !== undefined) throw new ConfigError(`unknown command "${command}"; see acu --help`);
  return runRoles(cfg);
}

main(process.argv.slice(2)).catch((e: Error) => {
  console.error(`acu: ${e instanceof ConfigError ? "" : "error: "}${e.message}`);
  process.exit(2);
});
