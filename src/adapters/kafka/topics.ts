import type { Admin, Kafka } from "kafkajs";
import type { Logger } from "../../log.ts";
import { namespacePrefix, rawTopic, rawTopicName } from "../../ports/bus.ts";
import { retrying } from "./client.ts";

export interface TopicLayout {
  brokers: string[];
  /** Partitions per topic, used when a topic is created. */
  partitions: Record<string, number>;
  /** Replication factor of created topics; default min(3, brokers in the cluster). */
  replication?: number;
  /** ACU_KAFKA_NAMESPACE: prefix of every topic and group name (with a "." unless it ends with a separator), so several deployments share one cluster. */
  namespace?: string;
}

/**
 * acu's topics on the cluster, through the admin client: created at open when missing, then their
 * partition counts, end offsets and a group's committed offsets. Callers use logical names; the cluster's
 * names carry the namespace.
 */
export class KafkaTopics {
  /** Partitions of the raw topics consumed (external producers' topics, literal names), read when first consumed. */
  private readonly rawCounts = new Map<string, number>();

  private constructor(
    private readonly admin: Admin,
    /** The namespace with its separator. */
    private readonly prefix: string,
    private readonly counts: Map<string, number>,
  ) {}

  static async open(kafka: Kafka, layout: TopicLayout, log: Logger): Promise<KafkaTopics> {
    const admin = kafka.admin();
    try {
      await admin.connect();
    } catch (e) {
      throw new Error(`cannot reach Kafka at ${layout.brokers.join(",")}: ${(e as Error).message}`);
    }
    try {
      const prefix = namespacePrefix(layout.namespace ?? "");
      await refuseOldNamespaceForm(admin, layout, prefix);
      return new KafkaTopics(admin, prefix, await ensureTopics(admin, layout, prefix, log));
    } catch (e) {
      await admin.disconnect().catch(() => {});
      throw e;
    }
  }

  /** The cluster's name of a topic or group: the namespace's prefix and the logical name; a raw topic's literal name. */
  name(logical: string): string {
    return rawTopicName(logical) ?? this.prefix + logical;
  }

  /** The logical name of a cluster topic name (a raw topic's with its marker). */
  logical(name: string): string {
    return this.rawCounts.has(name) ? rawTopic(name) : name.slice(this.prefix.length);
  }

  partitions(topic: string): number {
    const raw = rawTopicName(topic);
    const n = raw === null ? this.counts.get(topic) : this.rawCounts.get(raw);
    if (n === undefined) throw new Error(`unknown topic "${topic}"`);
    return n;
  }

  /**
   * Makes raw topics (literal names, written by external producers) known, with their partition counts.
   * acu does not create them: one missing is refused, naming it. One of acu's own topics is refused too
   * (its records are acu's, not a producer's).
   */
  async addRaw(names: string[]): Promise<void> {
    const fresh = names.filter((n) => !this.rawCounts.has(n));
    if (fresh.length === 0) return;
    const own = fresh.filter((n) => [...this.counts.keys()].some((t) => this.name(t) === n));
    if (own.length > 0) throw new Error(`raw topic ${own.join(", ")} is one of acu's own topics (ACU_KAFKA_RAW_TOPICS names the producers' topics)`);
    const existing = new Set(await retrying("listing topics", () => this.admin.listTopics(), 5));
    const missing = fresh.filter((n) => !existing.has(n));
    if (missing.length > 0)
      throw new Error(`raw topic ${missing.join(", ")} does not exist on the cluster: acu does not create its producers' topics (ACU_KAFKA_RAW_TOPICS)`);
    const meta = await retrying("reading raw topic metadata", () => this.admin.fetchTopicMetadata({ topics: fresh }), 5);
    for (const t of meta.topics) this.rawCounts.set(t.name, t.partitions.length);
  }

  /** The cluster's id (KRaft: the one `kafka-storage format` was given): a new cluster is another bus. */
  async clusterId(): Promise<string> {
    const { clusterId } = await retrying("describing the cluster", () => this.admin.describeCluster(), 5);
    return clusterId;
  }

  async endOffsets(topic: string): Promise<number[]> {
    const offsets = await retrying(`reading the end offsets of ${this.name(topic)}`, () => this.admin.fetchTopicOffsets(this.name(topic)), 5);
    const out = new Array<number>(this.partitions(topic)).fill(0);
    for (const o of offsets) out[o.partition] = Number(o.high);
    return out;
  }

  /** The group's committed offset of every partition of these topics; 0 where it has none. */
  async committed(group: string, topics: string[]): Promise<Array<{ topic: string; partition: number; offset: number }>> {
    const answer = await this.admin.fetchOffsets({ groupId: this.name(group), topics: topics.map((t) => this.name(t)) });
    return answer.flatMap((t) =>
      t.partitions.map((p) => {
        return { topic: this.logical(t.topic), partition: p.partition, offset: Math.max(Number(p.offset), 0) };
      }),
    );
  }

  /**
   * Fresh metadata of acu's topics: every partition has a leader and at least min(2, replicas) in-sync
   * replicas — min.insync.replicas as acu creates its topics, below which acks=all writes are refused.
   * One broker of three stopped stays ready; two stopped (or none answering) do not.
   */
  async ping(): Promise<void> {
    const names = [...this.counts.keys()].map((t) => this.name(t));
    const { topics } = await this.admin.fetchTopicMetadata({ topics: names }).catch((e: Error) => {
      throw new Error(`Kafka gave no metadata of ${names.join(", ")}: ${e.message}`);
    });
    const short: string[] = [];
    for (const t of topics)
      for (const p of t.partitions)
        if (p.leader < 0 || p.isr.length < Math.min(2, p.replicas.length))
          short.push(`${t.name}/${p.partitionId} (leader ${p.leader}, ${p.isr.length} of ${p.replicas.length} replicas in sync)`);
    if (short.length > 0)
      throw new Error(`Kafka cannot take writes on ${short.length} partition(s): ${short.slice(0, 3).join(", ")}${short.length > 3 ? ", …" : ""}`);
  }

  async close(): Promise<void> {
    await this.admin.disconnect().catch(() => {});
  }
}

/**
 * Earlier versions glued the namespace to the names (`acuprodstudent-reports`); it now ends with a separator
 * (`acuprod.student-reports`). A cluster holding the old form and not the new one belongs to a deployment
 * of before: starting would create empty topics beside its data. Refused, with the migration to do
 * (docs/operations.md, "Namespace separator").
 */
async function refuseOldNamespaceForm(admin: Admin, layout: TopicLayout, prefix: string): Promise<void> {
  const ns = layout.namespace ?? "";
  if (prefix === ns) return;
  const existing = new Set(await admin.listTopics());
  const old = Object.keys(layout.partitions).filter((t) => existing.has(ns + t) && !existing.has(prefix + t));
  if (old.length === 0) return;
  throw new Error(
    `ACU_KAFKA_NAMESPACE "${ns}": the cluster holds ${old.map((t) => ns + t).join(", ")} (the namespace glued to the names, as before) ` +
      `and not ${old.map((t) => prefix + t).join(", ")} (names now take "${prefix}"): drain and stop the old deployment, delete its topics, ` +
      "then run `acu lake adopt-bus` before starting (docs/operations.md, Namespace separator)",
  );
}

/** Creates the topics that do not exist yet; their partition counts, once every leader is known. */
async function ensureTopics(admin: Admin, layout: TopicLayout, ns: string, log: Logger): Promise<Map<string, number>> {
  const cluster = await admin.describeCluster();
  const replication = layout.replication ?? Math.min(3, cluster.brokers.length);
  const existing = new Set(await admin.listTopics());
  const missing = Object.entries(layout.partitions).filter(([t]) => !existing.has(ns + t));
  if (missing.length > 0) {
    await retrying("creating topics", () =>
      admin.createTopics({
        waitForLeaders: true,
        topics: missing.map(([topic, numPartitions]) => ({
          topic: ns + topic,
          numPartitions,
          replicationFactor: replication,
          configEntries: [{ name: "min.insync.replicas", value: String(Math.min(2, replication)) }],
        })),
      }),
    );
    log.info(`kafka: created ${missing.map(([t]) => ns + t).join(", ")} (replication ${replication})`);
  }
  const names = Object.keys(layout.partitions).map((t) => ns + t);
  const meta = await retrying("reading topic metadata", () => admin.fetchTopicMetadata({ topics: names }));
  // New topics answer offset requests only once their leaders are known everywhere.
  for (const t of names) await retrying(`waiting for ${t}`, () => admin.fetchTopicOffsets(t));
  return new Map(meta.topics.map((t) => [t.name.slice(ns.length), t.partitions.length]));
}
