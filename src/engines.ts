/**
 * How each engine opens: the shared adapter when its descriptor selects it (src/config/), else the
 * embedded one under the data dir. Each is opened once, when a role or command first needs it. The only
 * module besides src/main.ts that imports adapters; only src/main.ts uses it.
 */
import { join } from "node:path";
import { analyticsEngine } from "./config/analytics.ts";
import { busEngine } from "./config/bus.ts";
import { lakeEngine } from "./config/lake.ts";
import { dispatchEngine, thresholdsEngine, tokensEngine } from "./config/thresholds.ts";
import { warehouseEngine } from "./config/warehouse.ts";
import type { Config, EngineName } from "./config/index.ts";
import type { Logger } from "./log.ts";
import type { EngineProbe } from "../modules/ops/index.ts";
import { ArrowAnalyticsEngine } from "./adapters/embedded/arrow-engine.ts";
import { FileDispatchStore } from "./adapters/embedded/file-dispatch-store.ts";
import { FileThresholdStore } from "./adapters/embedded/file-thresholds.ts";
import { FileTokenStore } from "./adapters/embedded/file-tokens.ts";
import { LocalLake } from "./adapters/embedded/local-lake.ts";
import { EmbeddedLogBus } from "./adapters/embedded/log-bus.ts";
import { pgliteAssets } from "./adapters/embedded/pglite-assets.ts";
import { OnDemandWarehouse } from "./adapters/embedded/on-demand-warehouse.ts";
import { EtcdDispatchStore } from "./adapters/etcd/etcd-dispatch-store.ts";
import { EtcdThresholdStore } from "./adapters/etcd/etcd-thresholds.ts";
import { EtcdTokenStore } from "./adapters/etcd/etcd-tokens.ts";
import { WebHdfsLake } from "./adapters/hdfs/webhdfs-lake.ts";
import { KafkaBus } from "./adapters/kafka/kafka-bus.ts";
import { RawTopicProducer } from "./adapters/kafka/raw-producer.ts";
import type { KafkaSasl } from "./config/bus.ts";
import { PostgresWarehouse } from "./adapters/postgres/postgres-warehouse.ts";
import { SparkAnalyticsEngine } from "./adapters/spark/spark-engine.ts";
import type { AnalyticsEngine } from "./ports/analytics-engine.ts";
import { TOPICS, type Bus } from "./ports/bus.ts";
import type { DispatchStore } from "./ports/dispatch-store.ts";
import type { Lake } from "./ports/lake.ts";
import type { ThresholdStore } from "./ports/thresholds.ts";
import type { TokenStore } from "./ports/tokens.ts";
import type { Warehouse } from "./ports/warehouse.ts";
import { migrate } from "./warehouse/migrate.ts";

/** The port each engine implements. */
interface EnginePorts {
  bus: Bus;
  thresholds: ThresholdStore;
  tokens: TokenStore;
  dispatch: DispatchStore;
  lake: Lake;
  warehouse: Warehouse;
  analytics: AnalyticsEngine;
}

type Opener<K extends EngineName> = (cfg: Config, log: Logger, engines: Engines) => Promise<EnginePorts[K]>;

const openBus: Opener<"bus"> = (cfg, log) => {
  const partitions = { [TOPICS.reports]: cfg.partitions, [TOPICS.alerts]: cfg.partitions, [TOPICS.deadLetters]: 1, [TOPICS.incidentEvents]: cfg.partitions };
  const kafka = busEngine.shared(cfg);
  return kafka
    ? KafkaBus.open({
        brokers: kafka.brokers,
        partitions,
        replication: kafka.replication ?? undefined,
        namespace: kafka.namespace,
        clientLog: kafka.clientLog,
        publishQueueBytes: kafka.publishQueueBytes,
        sasl: kafka.sasl,
        log,
      })
    : EmbeddedLogBus.open(join(cfg.dataDir, "bus"), partitions, log);
};

const openThresholds: Opener<"thresholds"> = async (cfg, log) => {
  const etcd = thresholdsEngine.shared(cfg);
  return etcd
    ? EtcdThresholdStore.open({ endpoints: etcd.endpoints, prefix: etcd.prefix, auth: etcd.auth, defaultThreshold: cfg.defaultThreshold, log })
    : FileThresholdStore.open(join(cfg.dataDir, "thresholds.json"), cfg.defaultThreshold);
};

const openTokens: Opener<"tokens"> = async (cfg, log) => {
  const etcd = tokensEngine.shared(cfg);
  return etcd
    ? EtcdTokenStore.open({ endpoints: etcd.endpoints, prefix: etcd.prefix, auth: etcd.auth, log })
    : FileTokenStore.open(join(cfg.dataDir, "tokens.json"));
};

/** Incidents and patrols: etcd when configured (any number of processes), else `dispatch/` in the data dir (one process). */
const openDispatch: Opener<"dispatch"> = (cfg, log) => {
  const etcd = dispatchEngine.shared(cfg);
  return etcd
    ? EtcdDispatchStore.open({ endpoints: etcd.endpoints, prefix: etcd.prefix, auth: etcd.auth, log })
    : FileDispatchStore.open(join(cfg.dataDir, "dispatch"));
};

const openLake: Opener<"lake"> = async (cfg) => {
  const hdfs = lakeEngine.shared(cfg);
  const lake = hdfs
    ? await WebHdfsLake.open({ url: hdfs.url, root: hdfs.root, namenode: hdfs.namenode ?? undefined })
    : new LocalLake(join(cfg.dataDir, "lake"));
  await lake.removeLeftovers();
  return lake;
};

const openWarehouse: Opener<"warehouse"> = async (cfg) => {
  const pg = warehouseEngine.shared(cfg);
  // Embedded: opened while the analyzer or a read uses it, its memory handed back in between (issue #15).
  const w = pg
    ? await PostgresWarehouse.open(pg.url)
    : OnDemandWarehouse.open(join(cfg.dataDir, "warehouse"), { idleMs: cfg.warehouseIdleSeconds * 1000, assets: await pgliteAssets() });
  await migrate(w);
  return w;
};

/** Spark when configured (it writes partials over JDBC to the PostgreSQL warehouse), else in-process over Arrow. */
const openAnalytics: Opener<"analytics"> = async (cfg, log, engines) => {
  const lake = await engines.getLake();
  const s = analyticsEngine.shared(cfg);
  if (s)
    return new SparkAnalyticsEngine({
      lake,
      master: s.master,
      sparkHome: s.home,
      python: s.python ?? undefined,
      jdbcJar: s.jdbcJar,
      databaseUrl: s.databaseUrl,
      appPath: s.app ?? undefined,
      log,
    });
  return new ArrowAnalyticsEngine({ lake, warehouse: await engines.getWarehouse() });
};

const OPENERS: { [K in EngineName]: Opener<K> } = {
  bus: openBus,
  thresholds: openThresholds,
  tokens: openTokens,
  dispatch: openDispatch,
  lake: openLake,
  warehouse: openWarehouse,
  analytics: openAnalytics,
};

/** A plain producer on one Kafka topic by its literal name (acu signal --kafka), as an external producer writes. */
export function openRawTopicProducer(brokers: string[], sasl: KafkaSasl | null, topic: string): Promise<RawTopicProducer> {
  return RawTopicProducer.open({ brokers, sasl, topic });
}

/** The engines behind the ports of one process, each opened on first use and closed together. */
export class Engines {
  private readonly opened: { [K in EngineName]?: Promise<EnginePorts[K]> } = {};
  constructor(
    private readonly cfg: Config,
    private readonly log: Logger,
  ) {}

  get<K extends EngineName>(name: K): Promise<EnginePorts[K]> {
    const open = OPENERS[name] as Opener<K>;
    return ((this.opened as Record<K, Promise<EnginePorts[K]>>)[name] ??= open(this.cfg, this.log, this));
  }
  getBus = () => this.get("bus");
  getThresholds = () => this.get("thresholds");
  getTokens = () => this.get("tokens");
  getDispatchStore = () => this.get("dispatch");
  getLake = () => this.get("lake");
  getWarehouse = () => this.get("warehouse");
  getEngine = () => this.get("analytics");

  /** The engines opened so far, for readiness: each answers ping() while its engine does. */
  async probes(): Promise<EngineProbe[]> {
    const out: EngineProbe[] = [];
    for (const name of ["bus", "thresholds", "tokens", "dispatch", "lake", "warehouse"] as const) {
      const p = this.opened[name];
      if (!p) continue;
      const e = await p;
      out.push({ engine: name, adapter: e.engine, ping: () => e.ping() });
    }
    return out;
  }

  async close(): Promise<void> {
    for (const name of ["bus", "thresholds", "tokens", "dispatch", "lake", "warehouse"] as const) {
      const p = this.opened[name];
      if (p) await (await p).close();
    }
  }
}
