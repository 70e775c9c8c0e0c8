/** The bus: an embedded partitioned log under the data dir, or Kafka. */
import { join } from "node:path";
import type { RunConfig } from "./general.ts";
import type { EngineDescriptor, Section } from "./section.ts";
import { REPORT_FORMATS, type ReportFormat } from "../domain/report.ts";
import { bytes, codes, ConfigError, credentials, list, num, oneOf, type Credentials, type Setting, type SettingValues } from "./setting.ts";

export const KAFKA_CLIENT_LOG_LEVELS = ["nothing", "error", "warn", "info", "debug"] as const;
export type KafkaClientLog = (typeof KAFKA_CLIENT_LOG_LEVELS)[number];
export const KAFKA_SASL_MECHANISMS = ["plain", "scram-sha-256", "scram-sha-512"] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/** SASL authentication to Kafka: the mechanism and the user. */
export interface KafkaSasl extends Credentials {
  mechanism: KafkaSaslMechanism;
}

export interface BusConfig {
  partitions: number;
  /** null = the embedded log. */
  kafkaBrokers: string[] | null;
  kafkaReplication: number | null;
  kafkaNamespace: string;
  kafkaClientLog: KafkaClientLog;
  kafkaPublishQueueBytes: number;
  /** null = no authentication (PLAINTEXT). */
  kafkaSasl: KafkaSasl | null;
  /** External producers' topics the ingest role moves into student-reports (literal names), each with its records' shape. */
  kafkaRawTopics: Array<{ name: string; format: ReportFormat }>;
}

const busSettings = {
  partitions: { env: "ACU_PARTITIONS", default: "6", help: "partitions of `student-reports` and `alerts`, fixed when the log is created" },
  brokers: { env: "ACU_KAFKA_BROKERS", default: "(embedded log)", help: "`host:port,…` of a Kafka cluster: the bus" },
  replication: {
    env: "ACU_KAFKA_REPLICATION",
    default: "min(3, brokers)",
    help: "replication factor of the topics acu creates (`min.insync.replicas` = min(2, it))",
  },
  namespace: {
    env: "ACU_KAFKA_NAMESPACE",
    default: "(none)",
    help: "prefix of acu's topic and consumer-group names, to share a Kafka cluster: `exam` names them `exam.student-reports`, … (a namespace ending in `.`, `_` or `-` is used as it is)",
  },
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
  saslMechanism: {
    env: "ACU_KAFKA_SASL_MECHANISM",
    default: "(none)",
    help: `SASL mechanism of acu's Kafka user: ${codes(KAFKA_SASL_MECHANISMS)}; with the two below (each acu role its own user: docs/operations.md)`,
  },
  saslUsername: { env: "ACU_KAFKA_SASL_USERNAME", default: "(none)", help: "Kafka user (SASL) of this process" },
  saslPassword: { env: "ACU_KAFKA_SASL_PASSWORD", default: "(none)", secret: true, help: "password of `ACU_KAFKA_SASL_USERNAME`" },
  rawTopics: {
    env: "ACU_KAFKA_RAW_TOPICS",
    default: "(none)",
    help: "`topic[:format],…`: topics external producers write reports to, named exactly as on the cluster (no namespace added, never created by acu); the ingest role moves each valid record into `student-reports` and each invalid one to `reports-dlq` (docs/api.md, Producing to Kafka); needs `ACU_KAFKA_BROKERS`",
  },
  rawFormat: {
    env: "ACU_KAFKA_RAW_FORMAT",
    default: "auto",
    help: `shape of the records of a raw topic named without one: ${codes(REPORT_FORMATS)} (\`auto\`: \`original\` for a record with \`login\` and no \`studentId\`, else \`acu\`)`,
  },
} satisfies Record<string, Setting>;

function kafkaSasl(v: SettingValues, brokers: boolean): KafkaSasl | null {
  const s = busSettings;
  const user = credentials(
    { name: "ACU_KAFKA_SASL_USERNAME", raw: v.raw(s.saslUsername) },
    { name: "ACU_KAFKA_SASL_PASSWORD", raw: v.raw(s.saslPassword) },
    { name: "ACU_KAFKA_BROKERS", configured: brokers },
  );
  const raw = v.raw(s.saslMechanism);
  if (!user) {
    if (raw) throw new ConfigError("ACU_KAFKA_SASL_MECHANISM is set without ACU_KAFKA_SASL_USERNAME and ACU_KAFKA_SASL_PASSWORD");
    return null;
  }
  if (!raw) throw new ConfigError(`ACU_KAFKA_SASL_USERNAME is set without ACU_KAFKA_SASL_MECHANISM (${KAFKA_SASL_MECHANISMS.join(", ")})`);
  return { mechanism: oneOf("ACU_KAFKA_SASL_MECHANISM", raw, KAFKA_SASL_MECHANISMS, "scram-sha-512"), ...user };
}

function namespace(raw: string | undefined): string {
  if (!raw) return "";
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(raw)) throw new ConfigError("ACU_KAFKA_NAMESPACE may hold only letters, digits, '.', '_' and '-'");
  return raw;
}

/** Kafka's topic names: 1–249 of these characters. */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

function rawTopics(v: SettingValues, brokers: boolean): Array<{ name: string; format: ReportFormat }> {
  const s = busSettings;
  const fallback = oneOf("ACU_KAFKA_RAW_FORMAT", v.raw(s.rawFormat), REPORT_FORMATS, "auto");
  const items = list("ACU_KAFKA_RAW_TOPICS", v.raw(s.rawTopics), /^[^:]+(:[^:]+)?$/, "topic or topic:format") ?? [];
  if (items.length > 0 && !brokers)
    throw new ConfigError("ACU_KAFKA_RAW_TOPICS needs ACU_KAFKA_BROKERS: external producers write to Kafka, the embedded log has no such topics");
  const out = items.map((item) => {
    const [name, format] = item.split(":") as [string, string | undefined];
    if (!TOPIC_NAME.test(name) || name === "." || name === "..")
      throw new ConfigError(`ACU_KAFKA_RAW_TOPICS: "${name}" is not a Kafka topic name (1–249 letters, digits, '.', '_', '-')`);
    return { name, format: format === undefined ? fallback : oneOf(`ACU_KAFKA_RAW_TOPICS (${name})`, format, REPORT_FORMATS, fallback) };
  });
  const twice = out.find((t, i) => out.findIndex((u) => u.name === t.name) !== i);
  if (twice) throw new ConfigError(`ACU_KAFKA_RAW_TOPICS names "${twice.name}" twice`);
  return out;
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
  sasl: KafkaSasl | null;
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
          sasl: c.kafkaSasl,
        }
      : null,
  describe: (c) =>
    c.kafkaBrokers
      ? `kafka ${c.kafkaBrokers.join(",")}${c.kafkaNamespace ? ` namespace ${c.kafkaNamespace}` : ""}${c.kafkaSasl ? ` as ${c.kafkaSasl.username} (${c.kafkaSasl.mechanism})` : ""}${c.kafkaRawTopics.length > 0 ? `, raw topics ${c.kafkaRawTopics.map((t) => `${t.name} (${t.format})`).join(", ")}` : ""}`
      : `embedded log in ${join(c.dataDir, "bus")}`,
};

export const busSection: Section<BusConfig> = {
  title: "Bus: embedded log or Kafka",
  settings: busSettings,
  read: (v) => {
    const s = busSettings;
    const replication = v.raw(s.replication);
    const kafkaBrokers = list("ACU_KAFKA_BROKERS", v.raw(s.brokers), /^[A-Za-z0-9.-]+:\d+$/, "host:port");
    return {
      partitions: num("ACU_PARTITIONS", v.raw(s.partitions), 6, (n) => Number.isInteger(n) && n >= 1 && n <= 1024, "must be a whole number 1–1024"),
      kafkaBrokers,
      kafkaReplication: replication ? num("ACU_KAFKA_REPLICATION", replication, 1, (n) => Number.isInteger(n) && n >= 1, "must be a whole number ≥ 1") : null,
      kafkaNamespace: namespace(v.raw(s.namespace)),
      kafkaClientLog: kafkaClientLog(v.raw(s.clientLog)),
      kafkaPublishQueueBytes: bytes("ACU_KAFKA_PUBLISH_QUEUE_BYTES", v.raw(s.publishQueueBytes), 64 * 1024 * 1024, 4),
      kafkaSasl: kafkaSasl(v, kafkaBrokers !== null),
      kafkaRawTopics: rawTopics(v, kafkaBrokers !== null),
    };
  },
  engines: [busEngine],
};
