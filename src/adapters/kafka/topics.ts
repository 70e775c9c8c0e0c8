import type { Admin, Kafka } from "kafkajs";
import type { Logger } from "../../log.ts";
import { retrying } from "./client.ts";

export interface TopicLayout {
  brokers: string[];
  /** Partitions per topic, used when a topic is created. */
  partitions: Record<string, number>;
  /** Replication factor of created topics; default min(3, brokers in the cluster). */
  replication?: number;
  /** Prefix of every topic and group name, so several deployments (or test runs) share one cluster. */
  namespace?: string;
}

/**
 * acu's topics on the cluster, through the admin client: created at open when missing, then their
 * partition counts, end offsets and a group's committed offsets. Callers use logical names; the cluster's
 * names carry the namespace.
 */
export class KafkaTopics {
  private constructor(
    private readonly admin: Admin,
    private readonly namespace: string,
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
      return new KafkaTopics(admin, layout.namespace ?? "", await ensureTopics(admin, layout, log));
    } catch (e) {
      await admin.disconnect().catch(() => {});
      throw e;
    }
  }

  /** The cluster's name of a topic or group. */
  name(logical: string): string {
    return this.namespace + logical;
  }

  /** The logical name of a cluster topic name. */
  logical(name: string): string {
    return name.slice(this.namespace.length);
  }

  partitions(topic: string): number {
    const n = this.counts.get(topic);
    if (n === undefined) throw new Error(`unknown topic "${topic}"`);
    return n;
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

/** Creates the topics that do not exist yet; their partition counts, once every leader is known. */
async function ensureTopics(admin: Admin, layout: TopicLayout, log: Logger): Promise<Map<string, number>> {
  const ns = layout.namespace ?? "";
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
