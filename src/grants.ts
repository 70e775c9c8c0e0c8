/**
 * What each acu role may do on a secured Kafka and etcd: its Kafka ACLs and its etcd key ranges, the
 * least its code needs (docs/operations.md, "Engine users and their grants"). One user per role; the
 * analyzer uses neither engine. Pure data here; tests/support/secure-cluster.ts applies it with the
 * engines' admin APIs, and docs/operations.md shows it (a test keeps the two equal).
 */
import { ALERT_GROUP } from "../modules/alert/alert.ts";
import { DISPATCH_GROUP } from "../modules/dispatch/dispatch.ts";
import { FEED_GROUP_PREFIX } from "../modules/http/alert-feed.ts";
import { SINK_GROUP } from "../modules/sink/sink.ts";
import { RAW_INGEST_GROUP } from "../modules/ingest/raw-topics.ts";
import { namespacePrefix, TOPICS } from "./ports/bus.ts";

export const SECURED_ROLES = ["ingest", "alert", "sink", "dispatch", "http"] as const;
export type SecuredRole = (typeof SECURED_ROLES)[number];

/** The etcd stores (key prefixes: ACU_ETCD_PREFIX, ACU_ETCD_TOKEN_PREFIX, ACU_ETCD_DISPATCH_PREFIX). */
export type EtcdStore = "thresholds" | "tokens" | "dispatch";
export type EtcdAccess = "read" | "readwrite";

interface RoleGrant {
  /** Topics (logical names) read, in a consumer group. */
  read: string[];
  /** Topics written. */
  write: string[];
  /** Consumer groups (logical names): `prefix` for a group name followed by a per-process suffix. */
  groups: Array<{ name: string; prefix: boolean }>;
  /** Prefix of the transactional ids of the role's transactional producers (the alert role's commitWith). */
  transactionalIdPrefix: string | null;
  /** The etcd stores used, and how. */
  etcd: Partial<Record<EtcdStore, EtcdAccess>>;
}

/**
 * What the ingest role needs more with ACU_KAFKA_RAW_TOPICS: it reads the external producers' topics
 * (literal names, no namespace) in its group and moves their records with commitWith (transactional ids),
 * invalid ones to the DLQ.
 */
const RAW_TOPICS_GRANT: Omit<RoleGrant, "read" | "etcd"> = {
  write: [TOPICS.deadLetters],
  groups: [{ name: RAW_INGEST_GROUP, prefix: false }],
  transactionalIdPrefix: RAW_INGEST_GROUP,
};

/**
 * Every role that opens the bus also describes (metadata, end offsets: the readiness check) and may
 * create acu's four topics (whichever process starts first creates them), and its idempotent producer
 * needs a producer id: Kafka grants one to a user that may write some topic, the sink gets
 * IdempotentWrite on the cluster for it (it writes none).
 */
const GRANTS: Record<SecuredRole, RoleGrant> = {
  // thresholds: the exercise catalogue (ACU_EXERCISES=strict) is the set of exercises with a threshold entry.
  ingest: { read: [], write: [TOPICS.reports], groups: [], transactionalIdPrefix: null, etcd: { tokens: "read", thresholds: "read" } },
  alert: {
    // alerts: the seed of recent alert ids (group acu-alert-seed-…, under the same prefix).
    read: [TOPICS.reports, TOPICS.alerts],
    write: [TOPICS.alerts, TOPICS.deadLetters],
    groups: [{ name: ALERT_GROUP, prefix: true }],
    transactionalIdPrefix: ALERT_GROUP,
    etcd: { thresholds: "read" },
  },
  sink: {
    read: [TOPICS.reports, TOPICS.alerts, TOPICS.incidentEvents],
    write: [],
    groups: [{ name: SINK_GROUP, prefix: false }],
    transactionalIdPrefix: null,
    etcd: {},
  },
  dispatch: {
    read: [TOPICS.alerts],
    write: [TOPICS.incidentEvents],
    groups: [{ name: DISPATCH_GROUP, prefix: false }],
    transactionalIdPrefix: null,
    etcd: { dispatch: "readwrite" },
  },
  http: {
    // alerts: the live feed (one group per process); incident-events: the outbox relay of patrols' steps.
    read: [TOPICS.alerts],
    write: [TOPICS.incidentEvents],
    groups: [{ name: FEED_GROUP_PREFIX, prefix: true }],
    transactionalIdPrefix: null,
    etcd: { tokens: "read", thresholds: "readwrite", dispatch: "readwrite" },
  },
};

export type KafkaResource = "topic" | "group" | "transactional-id" | "cluster";
export type KafkaOperation = "read" | "write" | "describe" | "create" | "idempotent-write";

/** One ALLOW ACL of a role's user, names with the deployment's namespace (ACU_KAFKA_NAMESPACE). */
export interface KafkaAcl {
  resource: KafkaResource;
  /** The cluster's name ("kafka-cluster" for the cluster resource). */
  name: string;
  pattern: "literal" | "prefixed";
  operation: KafkaOperation;
}

/**
 * The Kafka ACLs of a role's user under ACU_KAFKA_NAMESPACE `namespace` (its prefix: with a "." unless it
 * ends with a separator); for ingest, `rawTopics` (ACU_KAFKA_RAW_TOPICS) add the mover's grants.
 */
export function kafkaAcls(role: SecuredRole, namespace = "", rawTopics: readonly string[] = []): KafkaAcl[] {
  const ns = namespacePrefix(namespace);
  const g = GRANTS[role];
  const raw = role === "ingest" && rawTopics.length > 0;
  const topic = (t: string, operation: KafkaOperation): KafkaAcl => ({ resource: "topic", name: ns + t, pattern: "literal", operation });
  const literal = (t: string, operation: KafkaOperation): KafkaAcl => ({ resource: "topic", name: t, pattern: "literal", operation });
  const all = Object.values(TOPICS);
  const out: KafkaAcl[] = [...all.map((t) => topic(t, "describe")), ...all.map((t) => topic(t, "create"))];
  const write = raw ? [...g.write, ...RAW_TOPICS_GRANT.write] : g.write;
  out.push(...g.read.map((t) => topic(t, "read")), ...write.map((t) => topic(t, "write")));
  if (raw) out.push(...rawTopics.map((t) => literal(t, "describe")), ...rawTopics.map((t) => literal(t, "read")));
  for (const grp of raw ? [...g.groups, ...RAW_TOPICS_GRANT.groups] : g.groups)
    out.push({ resource: "group", name: ns + grp.name, pattern: grp.prefix ? "prefixed" : "literal", operation: "read" });
  const tx = raw ? RAW_TOPICS_GRANT.transactionalIdPrefix : g.transactionalIdPrefix;
  if (tx !== null) out.push({ resource: "transactional-id", name: ns + tx, pattern: "prefixed", operation: "write" });
  if (write.length === 0) out.push({ resource: "cluster", name: "kafka-cluster", pattern: "literal", operation: "idempotent-write" });
  return out;
}

/** One etcd permission of a role: a key prefix, read or readwrite. */
export interface EtcdPermission {
  store: EtcdStore;
  prefix: string;
  access: EtcdAccess;
}

/** The etcd permissions of a role, given the deployment's prefixes (each ending in "/"). */
export function etcdPermissions(role: SecuredRole, prefixes: Record<EtcdStore, string>): EtcdPermission[] {
  return Object.entries(GRANTS[role].etcd).map(([store, access]) => ({ store: store as EtcdStore, prefix: prefixes[store as EtcdStore], access }));
}

/** The Markdown table of docs/operations.md: one row per role (and the analyzer, with nothing). */
export function grantsTable(): string {
  const rows = ["| role | Kafka: reads (group) | Kafka: writes | etcd |", "| --- | --- | --- | --- |"];
  for (const role of SECURED_ROLES) {
    const g = GRANTS[role];
    const groups = g.groups.map((x) => `\`${x.name}\`${x.prefix ? "…" : ""}`).join(", ");
    const reads = g.read.length > 0 ? `${g.read.map((t) => `\`${t}\``).join(", ")} (${groups})` : "—";
    const tx = g.transactionalIdPrefix ? `, transactional ids \`${g.transactionalIdPrefix}\`…` : "";
    const writes = g.write.length > 0 ? `${g.write.map((t) => `\`${t}\``).join(", ")}${tx}` : "— (IdempotentWrite on the cluster)";
    const etcd = Object.entries(g.etcd).map(([s, a]) => `${s} ${a}`);
    rows.push(`| ${role} | ${reads} | ${writes} | ${etcd.length > 0 ? etcd.join(", ") : "—"} |`);
  }
  const r = RAW_TOPICS_GRANT;
  rows.push(
    `| ingest, with \`ACU_KAFKA_RAW_TOPICS\` (besides the above) | each raw topic, its literal name (\`${r.groups[0]!.name}\`) | ${r.write.map((t) => `\`${t}\``).join(", ")}, transactional ids \`${r.transactionalIdPrefix}\`… | — |`,
  );
  rows.push("| analyzer | — | — | — |");
  return rows.join("\n");
}
