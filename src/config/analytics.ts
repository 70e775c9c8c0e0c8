/** The analytics engine of analyzer runs: in-process over Arrow, or Spark (partials over JDBC to PostgreSQL). */
import type { EngineDescriptor, Section } from "./section.ts";
import { ConfigError, type Setting, type SettingValues } from "./setting.ts";
import { warehouseSettings, type WarehouseConfig } from "./warehouse.ts";

export interface SparkSettings {
  master: string;
  home: string;
  python: string | null;
  jdbcJar: string;
  app: string | null;
}

export interface AnalyticsConfig {
  /** null = the embedded engine. */
  spark: SparkSettings | null;
}

const sparkSettings = {
  master: { env: "ACU_SPARK_MASTER", default: "(embedded engine)", help: "`spark://host:port`: analyzer runs on Spark (needs `ACU_DATABASE_URL`)" },
  home: { env: "ACU_SPARK_HOME", default: "-", help: "Spark installation with `bin/spark-submit` (with `ACU_SPARK_MASTER`)" },
  python: { env: "ACU_SPARK_PYTHON", default: "python3", help: "Python of the PySpark driver and executors" },
  jdbcJar: { env: "ACU_SPARK_JDBC_JAR", default: "-", help: "PostgreSQL JDBC driver jar (Spark writes partials over JDBC)" },
  app: { env: "ACU_SPARK_APP", default: "spark/analyze_partials.py", help: "the PySpark application (set it when running the compiled binary)" },
} satisfies Record<string, Setting>;

function spark(v: SettingValues): SparkSettings | null {
  const s = sparkSettings;
  const master = v.raw(s.master);
  if (!master) return null;
  if (!/^spark:\/\/[A-Za-z0-9.-]+:\d+$/.test(master)) throw new ConfigError(`ACU_SPARK_MASTER: "${master}" is not spark://host:port`);
  if (!v.raw(warehouseSettings.url))
    throw new ConfigError("ACU_SPARK_MASTER needs ACU_DATABASE_URL: Spark writes its partial aggregates to PostgreSQL over JDBC");
  const home = v.raw(s.home);
  if (!home) throw new ConfigError("ACU_SPARK_MASTER needs ACU_SPARK_HOME (the folder with bin/spark-submit)");
  const jdbcJar = v.raw(s.jdbcJar);
  if (!jdbcJar) throw new ConfigError("ACU_SPARK_MASTER needs ACU_SPARK_JDBC_JAR (the PostgreSQL JDBC driver jar)");
  return { master, home, python: v.raw(s.python) || null, jdbcJar, app: v.raw(s.app) || null };
}

export const analyticsEngine: EngineDescriptor<AnalyticsConfig & WarehouseConfig, SparkSettings & { databaseUrl: string }> = {
  name: "analytics",
  // Spark writes its partials over JDBC to the PostgreSQL warehouse: without one it cannot run.
  shared: (c) => (c.spark && c.databaseUrl ? { ...c.spark, databaseUrl: c.databaseUrl } : null),
  describe: (c) => (c.spark ? `spark ${c.spark.master}` : "embedded (Arrow)"),
};

export const analyticsSection: Section<AnalyticsConfig> = {
  title: "Analytics: in-process (Arrow) or Spark",
  settings: sparkSettings,
  read: (v) => ({ spark: spark(v) }),
  engines: [analyticsEngine],
};
