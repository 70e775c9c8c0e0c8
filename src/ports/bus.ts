/**
 * The partitioned log (Kafka's role). Semantics follow Kafka so the Kafka adapter is a thin mapping:
 * topics split into partitions, keyed appends (same key → same partition → ordered), consumer groups
 * that resume from committed offsets, at-least-once delivery (commit only after the work is durable).
 */

export const TOPICS = {
  reports: "student-reports",
  alerts: "alerts",
  deadLetters: "reports-dlq",
  incidentEvents: "incident-events",
} as const;

/**
 * A topic acu neither creates nor namespaces, consumed by its literal name (an external producer's, e.g.
 * `raw:student_report`): `consume` takes it beside logical names; records and offsets keep the marker.
 * Only the Kafka bus has such topics; the embedded log refuses them.
 */
export const RAW_TOPIC_MARKER = "raw:";

export function rawTopic(name: string): string {
  return RAW_TOPIC_MARKER + name;
}

/** The literal name of a raw topic, or null for a logical one. */
export function rawTopicName(topic: string): string | null {
  return topic.startsWith(RAW_TOPIC_MARKER) ? topic.slice(RAW_TOPIC_MARKER.length) : null;
}

/** Characters that end a namespace as a separator: `acu-prod.` is used as it is, `acu-prod` becomes `acu-prod.`. */
const NAMESPACE_SEPARATORS = [".", "_", "-"];

/** The prefix of acu's topic and group names for ACU_KAFKA_NAMESPACE: the namespace and a "." unless it ends with a separator. */
export function namespacePrefix(namespace: string): string {
  if (namespace === "" || NAMESPACE_SEPARATORS.includes(namespace.slice(-1))) return namespace;
  return `${namespace}.`;
}

export interface OutgoingMessage {
  key: string;
  value: string | Uint8Array;
}

export interface BusRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  value: Uint8Array;
  /** Append time, epoch ms. */
  timestamp: number;
}

/** Records of one partition, in offset order. */
export interface RecordBatch {
  topic: string;
  partition: number;
  records: BusRecord[];
}

/** "The next record this group will read", as Kafka commits it. */
export interface OffsetCommit {
  topic: string;
  partition: number;
  offset: number;
}

export interface ConsumerOptions {
  group: string;
  topics: string[];
  /**
   * auto: offsets after the batch are committed once the handler resolves.
   * manual: the handler's caller commits with `consumer.commit` (the sink commits after a lake file is durable).
   */
  commit: "auto" | "manual";
  /** Where a group with no committed offset starts. Defaults to earliest: nothing sent before start is skipped. */
  start?: "earliest" | "latest";
  maxBatch?: number;
  /**
   * The handler may be called for several partitions at once (still one batch at a time per partition,
   * in offset order). A fetch then costs one round of the handler's I/O instead of one per partition, and
   * the handlers' concurrent `commitWith` calls can share one transaction. Only for handlers that are
   * safe to run concurrently; an adapter may still call them one after the other (the embedded log does:
   * it has no round trips to save).
   */
  concurrentPartitions?: boolean;
  /** Called on stop while still a member: finish and commit the work in hand for these partitions. */
  onRevoke?: (partitions: Array<{ topic: string; partition: number }>) => Promise<void>;
  /** Called when partitions were given to another member (a rebalance): drop uncommitted work for them, the new owner redoes it. */
  onLost?: (partitions: Array<{ topic: string; partition: number }>) => Promise<void>;
  /**
   * Called when the consumer has read a partition up to `next` (exclusive), offsets that hold no record
   * included: Kafka's transaction markers and aborted records take offsets a read_committed reader never
   * receives, so the last record's offset + 1 may stay below `endOffsets` forever. A reader that waits
   * to be caught up (the alert seed, the live feed) needs both. The embedded log has no such offsets.
   */
  onPosition?: (topic: string, partition: number, next: number) => void;
  /** Called when partitions are given; the handler may seek (the sink skips what the lake already holds). */
  onAssign?: (partitions: Array<{ topic: string; partition: number; committed: number }>) => Promise<Array<OffsetCommit> | undefined>;
}

export interface Consumer {
  commit(offsets: OffsetCommit[]): Promise<void>;
  /**
   * Consume, publish and commit as one unit: the published messages and the offsets become visible together or not at all.
   * Concurrent calls (see `concurrentPartitions`) may share one unit: then they all succeed or all fail.
   */
  commitWith(publish: Array<{ topic: string; messages: OutgoingMessage[] }>, offsets: OffsetCommit[]): Promise<void>;
  /** Records not yet committed by this group, per topic-partition (consumer lag). */
  lag(): Promise<number>;
  /** Stops fetching, waits for the in-flight batch, then returns. */
  stop(): Promise<void>;
}

/**
 * Which log a bus is. Offsets mean something only within one log: a lake written from one bus must not be
 * continued from another (a new Kafka cluster, a changed namespace, a fresh embedded data dir).
 */
export interface BusIdentity {
  engine: string;
  /** Kafka: the cluster id; embedded: the id the log keeps in its folder (made when the log is first opened). */
  cluster: string;
  /** Each logical topic asked for, and its name on the engine (Kafka: with ACU_KAFKA_NAMESPACE). */
  topics: Record<string, string>;
}

export interface Bus {
  readonly engine: string;
  /** Which log this is, for the given logical topics (see BusIdentity). */
  identity(topics: string[]): Promise<BusIdentity>;
  /** Resolves once every message is durable (embedded: fsync; Kafka: acks=all). Rejects with BusUnavailableError when it cannot take them. */
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
  consume(options: ConsumerOptions, handle: (batch: RecordBatch, consumer: Consumer) => Promise<void>): Promise<Consumer>;
  partitions(topic: string): number;
  /** A topic's name on the engine (Kafka: with the namespace; a raw topic: its literal name), as dead letters name it. */
  topicName(topic: string): string;
  /** Highest offset + 1 per partition. */
  endOffsets(topic: string): Promise<number[]>;
  /**
   * Resolves when the engine answers now, cheaply; rejects, saying why, when it does not. Polled for
   * readiness (/readyz), each call bounded by the caller's timeout. For a bus: it can take writes (Kafka: every
   * partition of acu's topics has a leader and enough in-sync replicas).
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The pause before a consumer hands a batch whose handler failed again (at-least-once: never skipped), by
 * failures in a row of that partition; see `backoffDelay` in src/retry.ts.
 */
export const REDELIVERY_BACKOFF = { baseMs: 200, capMs: 5000 } as const;

/**
 * Thrown by a handler that cannot take a batch now (the sink, its buffer full while the lake is away): the
 * batch is delivered again after the redelivery pause, as for any failure, so the consumer fetches
 * nothing more meanwhile — backpressure instead of an unbounded buffer. Adapters log it at debug, not as a
 * failure: the handler says why once, itself.
 */
export class HandlerBackpressure extends Error {
  override name = "HandlerBackpressure";
}

/** The broker cannot take writes now; the caller should retry later (ingest answers 503). */
export class BusUnavailableError extends Error {
  override name = "BusUnavailableError";
}

/** Kafka's default partitioner idea: the same key always lands on the same partition. */
export function partitionFor(key: string, partitions: number): number {
  return Number(BigInt(Bun.hash.murmur32v2(key) >>> 0) % BigInt(partitions));
}
