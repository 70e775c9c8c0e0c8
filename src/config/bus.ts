/** The bus: an embedded partitioned log under the data dir, or Kafka. */
import { join } from "node:path";
import type { RunConfig } from "./general.ts";
import type { EngineDescriptor, Section } from "./section.ts";
import { codes, ConfigError, list, num, type Setting } from "./setting.ts";

export const KAFKA_CLIENT_LOG_LEVELS = ["nothing", "error", "warn", "info", "debug"] as const;
export type KafkaClientLog = (typeof KAFKA_CLIENT_LOG_LEVELS)[number];

export interface BusConfig {
  partitions: number;
  /** null = the embedded log. */
  kafkaBrokers: string[] | null;
  kafkaReplication: number | null;
  kafkaNamespace: string;
  kafkaClientLog: KafkaClientLog;
  kafkaPublishQueueBytes: number;
}

const busSettings = {
  partitions: { env: "ACU_PARTITIONS", default: "6", help: "partitions of `student-reports` and `alerts`, fixed when the log is created" },
  brokers: { env: "ACU_KAFKA_BROKERS", default: "(embedded log)", help: "`host:port,…` of a Kafka cluster: the bus" },
  replication: {
    env: "ACU_KAFKA_REPLICATION",
    default: "min(3, brokers)",
    help: "replication factor of the topics acu creates (`min.insync.replicas` = min(2, it))",
  },
  namespace: { env: "ACU_KAFKA_NAMESPACE", default: "(none)", help: "prefix of acu's topic and consumer-group names, to share a Kafka cluster" },
  clientLog: {
    env: "ACU_KAFKA_CLIENT_LOG",
    default: "nothing",
    help: `log level of the Kafka client (kafkajs) in acu's log: ${codes(KAFKA_CLIENT_LOG_LEVELS)}; for diagnosis (kafkajs logs every rebalance at \`error\`)`,
  },
  publishQueueBytes: {
    env: "ACU_KAFKA_PUBLISH_QUEUE_BYTES",
    default: "67108864",
    help: "bytes of reports (and other publishes) a process holds waiting for the brokers; beyond it ingest answers 503 + `Retry-After` at once (1 MiB–4 GiB)",
  },
} satisfies Record<string, Setting>;

function namespace(raw: string | undefined): string {
  if (!raw) return "";
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(raw)) throw new ConfigError("ACU_KAFKA_NAMESPACE may hold only letters, digits, '.', '_' and '-'");
  return raw;
}

function kafkaClientLog(raw: string | undefined): KafkaClientLog {
  if (!raw) return "nothing";
  const level = KAFKA_CLIENT_LOG_LEVELS.find((l) => l === raw.toLowerCase());
  if (!level) throw new ConfigError(`ACU_KAFKA_CLIENT_LOG must be one of ${KAFKA_CLIENT_LOG_LEVELS.join(", ")}, not "${raw}"`);
  return level;
}

export interface KafkaSettings {
  brokers: string[];
  replication: number | null;
  namespace: string;
  clientLog: KafkaClientLog;
  publishQueueBytes: number;
}

export const busEngine: EngineDescriptor<BusConfig & RunConfig, KafkaSettings> = {
  name: "bus",
  shared: (c) =>
    c.kafkaBrokers
      ? {
          brokers: c.kafkaBrokers,
          replication: c.kafkaReplication,
          namespace: c.kafkaNamespace,
          clientLog: c.kafkaClientLog,
          publishQueueBytes: c.kafkaPublishQueueBytes,
        }
      : null,
  describe: (c) =>
    c.kafkaBrokers
      ? `kafka ${c.kafkaBrokers.join(",")}${c.kafkaNamespace ? ` namespace ${c.kafkaNamespace}` : ""}`
      : `embedded log in ${join(c.dataDir, "bus")}`,
};

export const busSection: Section<BusConfig> = {
  title: "Bus: embedded log or Kafka",
  settings: busSettings,
  read: (v) => {
    const s = busSettings;
    const replication = v.raw(s.replication);
    return {
      partitions: num("ACU_PARTITIONS", v.raw(s.partitions), 6, (n) => Number.isInteger(n) && n >= 1 && n <= 1024, "must be a whole number 1–1024"),
      kafkaBrokers: list("ACU_KAFKA_BROKERS", v.raw(s.brokers), /^[A-Za-z0-9.-]+:\d+$/, "host:port"),
      kafkaReplication: replication ? num("ACU_KAFKA_REPLICATION", replication, 1, (n) => Number.isInteger(n) && n >= 1, "must be a whole number ≥ 1") : null,
      kafkaNamespace: namespace(v.raw(s.namespace)),
      kafkaClientLog: kafkaClientLog(v.raw(s.clientLog)),
      kafkaPublishQueueBytes: num(
        "ACU_KAFKA_PUBLISH_QUEUE_BYTES",
        v.raw(s.publishQueueBytes),
        64 * 1024 * 1024,
        (n) => Number.isInteger(n) && n >= 1024 * 1024 && n <= 4 * 1024 ** 3,
        "must be a whole number of bytes, 1 MiB–4 GiB",
      ),
    };
  },
  engines: [busEngine],
};
