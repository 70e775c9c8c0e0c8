import { hostname } from "node:os";
import { silentLogger, type Logger } from "../../log.ts";
import { Kafka, logLevel, Partitioners, type Admin, type Consumer as KConsumer, type EachBatchPayload, type Producer } from "kafkajs";
import {
  BusUnavailableError, REDELIVERY_BACKOFF, type Bus, type BusRecord, type Consumer, type ConsumerOptions, type OffsetCommit, type OutgoingMessage,
  type RecordBatch,
} from "../../ports/bus.ts";
import { Coalescer } from "../../coalescer.ts";
import { backoffDelay, retry, sleep } from "../../retry.ts";
import { muteTimeoutNegativeWarnings } from "./warnings.ts";

const CLIENT_LOG_LEVELS = { nothing: logLevel.NOTHING, error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO, debug: logLevel.DEBUG } as const;

/** Longest a transaction of the alert role may stay open; see KafkaConsumer.transactional(). */
export const TRANSACTION_TIMEOUT_MS = 10_000;

export interface KafkaBusOptions {
  brokers: string[];
  /** Partitions per topic, used when a topic is created. */
  partitions: Record<string, number>;
  /** Replication factor of created topics; default min(3, brokers in the cluster). */
  replication?: number;
  clientId?: string;
  /** Prefix of every topic and group name acu uses, so several deployments (or test runs) share one cluster. */
  namespace?: string;
  log?: Logger;
  /** kafkajs's own log, written through `log`; default nothing (it logs every rebalance as an error). */
  clientLog?: "nothing" | "error" | "warn" | "info" | "debug";
  /** A consumer whose fetch loop is silent this long, with no batch in hand, is replaced; default 60 000 ms. */
  consumerSilenceMs?: number;
  /** Longest a publish may take (connecting a producer included) before it is refused (ingest: 503); default 10 000 ms. */
  publishTimeoutMs?: number;
}

/**
 * The bus on Apache Kafka (kafkajs). Topics are created at open; the producer is idempotent with
 * acks=all; each consumer is a member of its group; `commitWith` is a Kafka transaction (send + offsets),
 * and consumers read committed data only, so an order and its consumed offsets appear together or not at all.
 */
export class KafkaBus implements Bus {
  readonly engine = "kafka";
  private readonly consumers = new Set<KafkaConsumer>();

  private constructor(
    readonly kafka: Kafka,
    readonly admin: Admin,
    private producer: Producer,
    private readonly partitionCounts: Map<string, number>,
    readonly log: Logger,
    private readonly namespace: string,
  ) {}

  /** The cluster's name of a topic or group. */
  name(logical: string): string {
    return this.namespace + logical;
  }

  static async open(o: KafkaBusOptions): Promise<KafkaBus> {
    const unmute = muteTimeoutNegativeWarnings();
    try {
      const bus = await KafkaBus.connect(o);
      bus.unmute = unmute;
      return bus;
    } catch (e) {
      unmute();
      throw e;
    }
  }

  /** Given back at close: the process's warning listeners as they were (see warnings.ts). */
  private unmute = () => {};

  private static async connect(o: KafkaBusOptions): Promise<KafkaBus> {
    const log = o.log ?? silentLogger;
    const kafka = new Kafka({
      clientId: o.clientId ?? "acu",
      brokers: o.brokers,
      connectionTimeout: 3000,
      requestTimeout: 10_000,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
      logLevel: CLIENT_LOG_LEVELS[o.clientLog ?? "nothing"],
      logCreator: () => ({ namespace, label, log: entry }) => {
        const { message, timestamp: _t, logger: _l, ...extra } = entry;
        log[label === "ERROR" ? "error" : label === "WARN" ? "warn" : label === "DEBUG" ? "debug" : "info"](`kafkajs ${label.toLowerCase()} [${namespace}] ${message}${Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : ""}`);
      },
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
    } catch (e) {
      throw new Error(`cannot reach Kafka at ${o.brokers.join(",")}: ${(e as Error).message}`);
    }
    const cluster = await admin.describeCluster();
    const replication = o.replication ?? Math.min(3, cluster.brokers.length);
    const ns = o.namespace ?? "";
    const existing = new Set(await admin.listTopics());
    const missing = Object.entries(o.partitions).filter(([t]) => !existing.has(ns + t));
    if (missing.length > 0) {
      await retrying("creating topics", () => admin.createTopics({
        waitForLeaders: true,
        topics: missing.map(([topic, numPartitions]) => ({
          topic: ns + topic,
          numPartitions,
          replicationFactor: replication,
          configEntries: [{ name: "min.insync.replicas", value: String(Math.min(2, replication)) }],
        })),
      }));
      log.info(`kafka: created ${missing.map(([t]) => ns + t).join(", ")} (replication ${replication})`);
    }
    const names = Object.keys(o.partitions).map((t) => ns + t);
    const meta = await retrying("reading topic metadata", () => admin.fetchTopicMetadata({ topics: names }));
    // New topics answer offset requests only once their leaders are known everywhere.
    for (const t of names) await retrying(`waiting for ${t}`, () => admin.fetchTopicOffsets(t));
    const counts = new Map(meta.topics.map((t) => [t.name.slice(ns.length), t.partitions.length]));
    const producer = newProducer(kafka);
    await producer.connect();
    const bus = new KafkaBus(kafka, admin, producer, counts, log, ns);
    bus.publishTimeoutMs = o.publishTimeoutMs ?? 10_000;
    bus.consumerSilenceMs = o.consumerSilenceMs ?? 60_000;
    return bus;
  }

  partitions(topic: string): number {
    const n = this.partitionCounts.get(topic);
    if (n === undefined) throw new Error(`unknown topic "${topic}"`);
    return n;
  }

  async endOffsets(topic: string): Promise<number[]> {
    const offsets = await retrying(`reading the end offsets of ${this.name(topic)}`, () => this.admin.fetchTopicOffsets(this.name(topic)), 5);
    const out = new Array<number>(this.partitions(topic)).fill(0);
    for (const o of offsets) out[o.partition] = Number(o.high);
    return out;
  }

  /**
   * The idempotent producer has one request in flight (maxInFlightRequests: 1, for ordering), so each
   * send waits for the one before. Publishes that arrive meanwhile are sent together in the next request
   * (group commit): one acks=all round trip for all of them instead of one each, in arrival order. Each
   * caller's promise settles with the request that carried its messages.
   */
  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const kms = messages.map((m) => ({ key: m.key, value: toBuffer(m.value) }));
    let bytes = 0;
    for (const m of kms) bytes += m.value.byteLength + m.key.length;
    try {
      await this.sends.add({ topic, messages: kms, bytes });
    } catch (e) {
      throw new BusUnavailableError(`Kafka did not take ${kms.length} message(s) on ${topic}: ${(e as Error).message}`);
    }
  }

  private readonly sends = new Coalescer<PendingPublish>((batch) => this.send(batch), { begin: "now", limit: BATCH_LIMIT });
  private publishTimeoutMs = 10_000;
  consumerSilenceMs = 60_000;
  private producerReady: Promise<void> = Promise.resolve();

  /**
   * Each message with its partition set, by kafkajs's own default partitioner (the same choice it would
   * make): the partitions a request must have written are then known, and checkWritten verifies them.
   */
  placed(topic: string, ms: Array<{ key: string; value: Buffer }>): Array<{ key: string; value: Buffer; partition: number }> {
    const count = this.partitions(topic);
    const partitionMetadata = Array.from({ length: count }, (_, i) => ({ partitionId: i, leader: 0, replicas: [], isr: [], partitionErrorCode: 0 }));
    // A key's partition depends only on the key and the count, and ingest sees the same students again and
    // again: remembered, it costs a lookup instead of kafkajs's murmur2 and its per-message array filter.
    let known = this.keyPartitions.get(topic);
    if (!known || known.size > 200_000) this.keyPartitions.set(topic, (known = new Map()));
    return ms.map((m) => {
      let partition = known.get(m.key);
      if (partition === undefined) known.set(m.key, (partition = keyPartitioner({ topic, partitionMetadata, message: m })));
      return { key: m.key, value: m.value, partition };
    });
  }

  /** Per topic: key → partition, as kafkajs's default partitioner chose it (bounded: dropped past 200,000 keys). */
  private readonly keyPartitions = new Map<string, Map<string, number>>();

  /**
   * After a failed (or timed-out) send the producer is replaced, never reused. kafkajs gives back the
   * sequence numbers of a request that failed, but the broker may have appended it (a timeout,
   * NOT_ENOUGH_REPLICAS_AFTER_APPEND): the next batch would then reuse those numbers and the broker either
   * takes it for a duplicate — acknowledged, never written: a 202 for a lost report — or refuses every
   * later batch (OUT_OF_ORDER_SEQUENCE_NUMBER) for good. Found by stopping 2 of 3 brokers (tests/faults).
   * A new producer has a new producer id, so its sequences start afresh.
   */
  private replaceProducer(): void {
    const old = this.producer;
    void old.disconnect().catch(() => {});
    this.producer = newProducer(this.kafka);
    this.producerReady = this.producer.connect();
    // A producer that cannot connect (Kafka unreachable) fails the next publish at once, which replaces it again.
    this.producerReady.catch(() => {});
  }

  /** One request for the publishes of a batch; after a failure the producer is replaced (see replaceProducer). */
  private async send(batch: PendingPublish[]): Promise<void> {
    const byTopic = groupByTopic(batch);
    try {
      await deadline(
        (async () => {
          await this.producerReady;
          const topicMessages = [...byTopic].map(([t, ms]) => ({ topic: this.name(t), messages: this.placed(t, ms) }));
          checkWritten(topicMessages, await this.producer.sendBatch({ acks: -1, topicMessages }));
        })(),
        this.publishTimeoutMs,
        `no answer within ${this.publishTimeoutMs} ms`,
      );
    } catch (e) {
      this.replaceProducer();
      throw e;
    }
  }

  async consume(options: ConsumerOptions, handle: (batch: RecordBatch, consumer: Consumer) => Promise<void>): Promise<Consumer> {
    for (const t of options.topics) this.partitions(t);
    const c = new KafkaConsumer(this, options, handle, () => this.consumers.delete(c));
    this.consumers.add(c);
    await c.start();
    return c;
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.stop()));
    await this.producer.disconnect().catch(() => {});
    await this.admin.disconnect().catch(() => {});
    this.unmute();
  }
}

/**
 * Metadata settles a moment after a topic is created or a leader moves: kafkajs then reports retriable
 * errors (UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE). Try again, bounded.
 */
async function retrying<T>(what: string, f: () => Promise<T>, attempts = 10): Promise<T> {
  try {
    return await retry(f, { baseMs: 200, capMs: 2000, attempts, retriable: metadataSettling });
  } catch (e) {
    throw new Error(`kafka: ${what}: ${(e as Error).message}`);
  }
}

function metadataSettling(e: unknown): boolean {
  const err = e as { retriable?: boolean; message?: string };
  return err.retriable === true || /not the leader|leader not available|unknown topic|does not host this topic-partition/i.test(err.message ?? "");
}

/**
 * What one request or transaction carries: up to ~900 KB of messages (a partition's record batch in one
 * request stays under the broker's message.max.bytes), at least one caller's.
 */
const BATCH_LIMIT = { weight: (p: { bytes: number }) => p.bytes, max: 900 * 1024 };

/** Messages per topic, in the callers' order; topics without messages left out. */
function groupByTopic(parts: Array<{ topic: string; messages: Array<{ key: string; value: Buffer }> }>): Map<string, Array<{ key: string; value: Buffer }>> {
  const byTopic = new Map<string, Array<{ key: string; value: Buffer }>>();
  for (const p of parts) {
    if (p.messages.length === 0) continue;
    const list = byTopic.get(p.topic);
    if (list) for (const m of p.messages) list.push(m);
    else byTopic.set(p.topic, [...p.messages]);
  }
  return byTopic;
}

const keyPartitioner = Partitioners.DefaultPartitioner();

/**
 * Every partition a request carried messages for must be in the answer, without error. kafkajs, when a
 * partition's leader moves during a send, retries only the brokers that had not answered: a partition
 * that moved to a broker that already answered (for its other partitions) is never sent, and sendBatch
 * still resolves — acknowledged, not written. Found by stopping one of 3 brokers (tests/faults).
 */
export function checkWritten(sent: Array<{ topic: string; messages: Array<{ partition: number }> }>, answer: Array<{ topicName: string; partition: number; errorCode: number }>): void {
  const ok = new Set(answer.filter((a) => a.errorCode === 0).map((a) => `${a.topicName}/${a.partition}`));
  const missing = new Set<string>();
  for (const t of sent) {
    // The distinct partitions first: a string per message was ~5 % of the ingest role's CPU.
    const partitions = new Set<number>();
    for (const m of t.messages) partitions.add(m.partition);
    for (const p of partitions) if (!ok.has(`${t.topic}/${p}`)) missing.add(`${t.topic}/${p}`);
  }
  if (missing.size > 0) throw new Error(`Kafka's answer does not confirm partition(s) ${[...missing].join(", ")} (a leader moved during the send)`);
}

function newProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
}

/** p, or a rejection with `why` after `ms` (p goes on; its outcome is ignored). */
function deadline<T>(p: Promise<T>, ms: number, why: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(why)), ms))),
  ]);
}

interface PendingTransaction {
  publish: Array<{ topic: string; messages: OutgoingMessage[] }>;
  offsets: OffsetCommit[];
  bytes: number;
}

interface PendingPublish {
  topic: string;
  messages: Array<{ key: string; value: Buffer }>;
  bytes: number;
}

function toBuffer(v: string | Uint8Array): Buffer {
  return typeof v === "string" ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

class KafkaConsumer implements Consumer {
  /** Replaced when kafkajs gives up on it (see recover). */
  private consumer: KConsumer;
  private txProducer: Producer | null = null;
  /** Handler calls under way (several at once with concurrentPartitions): stop() waits for them all. */
  private readonly inFlight = new Set<Promise<void>>();
  /**
   * commitWith calls waiting for the next transaction; see commitWith. Begun on the next turn of the event
   * loop, not at once: the other partitions of the fetch, whose handlers resume from the same awaited answer
   * (one shared thresholds read), call within this turn.
   */
  private readonly transactions = new Coalescer<PendingTransaction>(
    (group) => this.transaction(group.flatMap((g) => g.publish), group.flatMap((g) => g.offsets)),
    { begin: "turn", limit: BATCH_LIMIT },
  );
  private stopping: Promise<void> | null = null;
  private assigned: Array<{ topic: string; partition: number }> = [];
  /** The handling of the latest assignment (onLost, onAssign and its seeks): batches wait for it. */
  private assigning: Promise<void> = Promise.resolve();
  /** Failures in a row per partition ("topic/partition"): partitions handled concurrently back off each on its own count. */
  private readonly failures = new Map<string, number>();
  /** Last sign of life of kafkajs's fetch loop (a fetch begun or ended, a join, a batch begun or ended). */
  private alive = Date.now();
  /** onBatch calls under way: while one runs, kafkajs does not fetch, and silence is the handler's, not kafkajs's. */
  private batches = 0;
  private recovering: Promise<void> | null = null;
  /** Aborted by stop(): ends a replacement's retries and the pause before a failed batch is fetched again. */
  private readonly halted = new AbortController();
  private watchdog: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly bus: KafkaBus,
    private readonly options: ConsumerOptions,
    private readonly handle: (batch: RecordBatch, consumer: Consumer) => Promise<void>,
    private readonly onStopped: () => void,
  ) {
    this.consumer = this.newConsumer();
  }

  private newConsumer(): KConsumer {
    return this.bus.kafka.consumer({
      groupId: this.bus.name(this.options.group),
      allowAutoTopicCreation: false,
      readUncommitted: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      rebalanceTimeout: 20_000,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxWaitTimeInMs: 100,
    });
  }

  async start(): Promise<void> {
    await this.run(this.consumer);
    // kafkajs restarts a consumer itself only after a retriable error; after any other (seen: commits and
    // fetches failing with "Broker N not found in the cached metadata" once 2 of 3 brokers came back) it
    // stops for good, and the role would sit on its backlog until restarted by hand. The CRASH event says
    // so (restart: false); the watchdog covers a fetch loop that stopped without one.
    this.watchdog = setInterval(() => {
      const silentMs = Date.now() - this.alive;
      if (this.batches === 0 && silentMs > this.bus.consumerSilenceMs) void this.recover(`no fetch for ${Math.round(silentMs / 1000)} s`);
    }, Math.min(1000, this.bus.consumerSilenceMs / 4));
    this.watchdog.unref?.();
  }

  private async run(consumer: KConsumer): Promise<void> {
    const { events } = consumer;
    const alive = (): void => {
      if (consumer === this.consumer) this.alive = Date.now();
    };
    for (const e of [events.FETCH_START, events.FETCH, events.GROUP_JOIN, events.START_BATCH_PROCESS, events.END_BATCH_PROCESS, events.CONNECT]) consumer.on(e, alive);
    consumer.on(events.GROUP_JOIN, (e) => {
      if (consumer !== this.consumer) return;
      const assignment = e.payload.memberAssignment as Record<string, number[]>;
      const now = Object.entries(assignment).flatMap(([topic, ps]) => ps.map((partition) => ({ topic: this.logical(topic), partition })));
      const revoked = this.assigned.filter((a) => !now.some((n) => n.topic === a.topic && n.partition === a.partition));
      this.assigned = now;
      this.assigning = this.assignedChanged(now, revoked);
    });
    consumer.on(events.CRASH, (e) => {
      const { error, restart } = e.payload as { error: Error; restart: boolean };
      this.bus.log.warn(`kafka: ${this.options.group} consumer failed${restart ? ", kafkajs restarts it" : ""}: ${error.message}`);
      if (!restart && consumer === this.consumer) void this.recover("kafkajs stopped it");
    });
    // A batch of transaction markers (or aborted records) only: no handler call, but the position moved.
    const onPosition = this.options.onPosition;
    if (onPosition)
      consumer.on(events.END_BATCH_PROCESS, (e) => {
        const b = e.payload as { topic: string; partition: number; batchSize: number; lastOffset: string };
        if (b.batchSize === 0 && consumer === this.consumer) onPosition(this.logical(b.topic), b.partition, Number(b.lastOffset) + 1);
      });
    this.alive = Date.now();
    await consumer.connect();
    await consumer.subscribe({ topics: this.options.topics.map((t) => this.bus.name(t)), fromBeginning: this.options.start !== "latest" });
    // kafkajs hands the batches of one fetch to its workers and fetches again only when all are done. With
    // one worker the partitions are handled one after the other, each paying its own round trips (the alert
    // role: a thresholds read and a transaction per partition, six in a row per fetch); with one worker per
    // partition they run together and their commitWith calls share one transaction.
    const partitions = this.options.topics.reduce((n, t) => n + this.bus.partitions(t), 0);
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.concurrentPartitions ? partitions : 1,
      eachBatch: (payload) => this.onBatch(payload, consumer),
    });
  }

  /**
   * A new kafkajs consumer in place of one that stopped: as after a rebalance that took every partition
   * away (onLost: uncommitted work is dropped and fetched again from the committed offsets, at least once),
   * then a new member joins the group. Tried again until it is running or the consumer is stopped.
   */
  private recover(why: string): Promise<void> {
    this.recovering ??= retry(
      async (attempt) => {
        this.bus.log.warn(`kafka: ${this.options.group} consumer stopped (${why}); replacing it${attempt > 1 ? ` (attempt ${attempt})` : ""}`);
        await this.replaceConsumer();
        if (this.stopping) return;
        await this.run(this.consumer);
        this.bus.log.info(`kafka: ${this.options.group} consumer replaced`);
      },
      { baseMs: 1000, capMs: 10_000, signal: this.halted.signal, onRetry: (e) => (why = (e as Error).message) },
    )
      // Retried until it runs: only stop() (the abort) ends it otherwise, and then nothing is left to do.
      .catch(() => {})
      .finally(() => {
        this.recovering = null;
        this.alive = Date.now();
      });
    return this.recovering;
  }

  /** A new kafkajs consumer in place of the current one, whose partitions are given up (onLost). */
  private async replaceConsumer(): Promise<void> {
    const old = this.consumer;
    this.consumer = this.newConsumer();
    this.alive = Date.now();
    await deadline(old.disconnect(), 10_000, "disconnect").catch(() => {});
    await deadline(Promise.all([...this.inFlight].map((w) => w.catch(() => {}))), 30_000, "handlers").catch(() => {});
    const lost = this.assigned;
    this.assigned = [];
    this.assigning = Promise.resolve();
    if (lost.length > 0) await this.options.onLost?.(lost).catch((e) => this.bus.log.warn(`kafka: ${this.options.group} lost: ${(e as Error).message}`));
    // Its transactions may be as stale as the consumer's metadata; a new one fences it (same transactional id).
    const tx = this.txProducer;
    this.txProducer = null;
    await deadline(tx?.disconnect() ?? Promise.resolve(), 10_000, "disconnect").catch(() => {});
  }

  async commit(offsets: OffsetCommit[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.consumer.commitOffsets(offsets.map((o) => ({ topic: this.bus.name(o.topic), partition: o.partition, offset: String(o.offset) })));
  }

  /**
   * A transaction costs about five round trips in kafkajs (add partitions, produce, add offsets, commit
   * offsets, end), whatever it carries. Calls made while one is being prepared or is in flight share the
   * next one (group commit, as publish does for sends): the partitions of a fetch, handled concurrently,
   * commit together. A shared transaction is still one unit: every caller's messages and offsets become
   * visible together, or none of them and every caller gets the error (and redoes its batch).
   */
  commitWith(publish: Array<{ topic: string; messages: OutgoingMessage[] }>, offsets: OffsetCommit[]): Promise<void> {
    let bytes = 0;
    for (const p of publish) for (const m of p.messages) bytes += m.key.length + (typeof m.value === "string" ? m.value.length : m.value.byteLength);
    return this.transactions.add({ publish, offsets, bytes });
  }

  private async transaction(publish: Array<{ topic: string; messages: OutgoingMessage[] }>, offsets: OffsetCommit[]): Promise<void> {
    const producer = await this.transactional();
    const tx = await producer.transaction();
    try {
      const byTopic = groupByTopic(publish.map((p) => ({ topic: p.topic, messages: p.messages.map((m) => ({ key: m.key, value: toBuffer(m.value) })) })));
      if (byTopic.size > 0) {
        const topicMessages = [...byTopic].map(([t, ms]) => ({ topic: this.bus.name(t), messages: this.bus.placed(t, ms) }));
        // As for publish: an order whose partition kafkajs skipped must not commit with the offsets.
        checkWritten(topicMessages, await tx.sendBatch({ acks: -1, topicMessages }));
      }
      // One offset per partition: the furthest (two calls for one partition cannot overlap, but it costs nothing to be sure).
      const next = new Map<string, Map<number, number>>();
      for (const o of offsets) {
        const t = next.get(this.bus.name(o.topic)) ?? new Map<number, number>();
        t.set(o.partition, Math.max(o.offset, t.get(o.partition) ?? -1));
        next.set(this.bus.name(o.topic), t);
      }
      await tx.sendOffsets({
        consumerGroupId: this.bus.name(this.options.group),
        topics: [...next].map(([topic, ps]) => ({ topic, partitions: [...ps].map(([partition, offset]) => ({ partition, offset: String(offset) })) })),
      });
      await tx.commit();
    } catch (e) {
      await tx.abort().catch(() => {});
      throw e;
    }
  }

  async lag(): Promise<number> {
    let lag = 0;
    const committed = await retrying("reading committed offsets", () =>
      this.bus.admin.fetchOffsets({ groupId: this.bus.name(this.options.group), topics: this.options.topics.map((t) => this.bus.name(t)) }),
    );
    for (const t of committed) {
      const end = await this.bus.endOffsets(this.logical(t.topic));
      for (const p of t.partitions) {
        const c = Number(p.offset);
        lag += Math.max(0, end[p.partition]! - (c < 0 ? 0 : c));
      }
    }
    return lag;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.halted.abort();
      if (this.watchdog) clearInterval(this.watchdog);
      await this.recovering;
      // Stop fetching, let the batch in hand finish, then let the owner flush and commit while still a member.
      this.consumer.pause(this.options.topics.map((topic) => ({ topic: this.bus.name(topic) })));
      await Promise.all([...this.inFlight].map((w) => w.catch(() => {})));
      await this.options.onRevoke?.(this.assigned).catch((e) => this.bus.log.warn(`kafka: ${this.options.group} revoke: ${(e as Error).message}`));
      await this.consumer.disconnect().catch(() => {});
      await this.txProducer?.disconnect().catch(() => {});
      this.onStopped();
    })();
    return this.stopping;
  }

  private logical(topic: string): string {
    return topic.slice(this.bus.name("").length);
  }

  /** One transactional producer per consumer; its id names the group and this process. */
  private async transactional(): Promise<Producer> {
    if (!this.txProducer) {
      const p = this.bus.kafka.producer({
        transactionalId: `${this.bus.name(this.options.group)}-${hostname()}-${process.pid}`,
        // A process killed inside a transaction leaves it open, and read_committed readers (the sink, the
        // live feed, a restarted alert process's seed) stop at it until the broker aborts it: after this
        // long (+ the broker's abort check, 10 s by default) instead of kafkajs's 60 s. A transaction
        // here is one fetch's batches (send + offsets + commit): milliseconds.
        transactionTimeout: TRANSACTION_TIMEOUT_MS,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      });
      await p.connect();
      this.txProducer = p;
    }
    return this.txProducer;
  }

  private async assignedChanged(now: Array<{ topic: string; partition: number }>, revoked: Array<{ topic: string; partition: number }>): Promise<void> {
    try {
      // Known only after the rebalance: another member may already own them, so their work is dropped, not committed.
      if (revoked.length > 0) await this.options.onLost?.(revoked);
      if (!this.options.onAssign || now.length === 0) return;
      const committed = await this.bus.admin.fetchOffsets({ groupId: this.bus.name(this.options.group), topics: [...new Set(now.map((n) => this.bus.name(n.topic)))] });
      const parts = now.map((n) => {
        const c = Number(committed.find((t) => t.topic === this.bus.name(n.topic))?.partitions.find((p) => p.partition === n.partition)?.offset ?? -1);
        return { ...n, committed: c < 0 ? 0 : c };
      });
      const seeks = (await this.options.onAssign(parts)) ?? [];
      for (const s of seeks) this.consumer.seek({ topic: this.bus.name(s.topic), partition: s.partition, offset: String(s.offset) });
    } catch (e) {
      this.bus.log.warn(`kafka: ${this.options.group} assignment handling failed: ${(e as Error).message}`);
    }
  }

  private async onBatch(payload: EachBatchPayload, consumer: KConsumer): Promise<void> {
    // Waiting for the owner (its onAssign, e.g. the sink's, queued behind a lake write that waits for a
    // DataNode) is not a stalled fetch loop: the watchdog leaves it be.
    this.batches++;
    try {
      // The first fetch of a generation can complete before onAssign has run: a backlog would then reach the
      // handler before the owner set up the partition (the sink replaced such a buffer and lost its records)
      // and before onAssign's seeks. Wait for it; a seek makes this batch stale, and it is fetched again.
      await this.assigning;
      // A batch of a consumer since replaced: its partitions were given up (onLost).
      if (consumer !== this.consumer) return;
      await this.handleBatch(payload, consumer);
    } finally {
      this.batches--;
      this.alive = Date.now();
    }
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload, consumer: KConsumer): Promise<void> {
    if (this.stopping || !isRunning() || isStale() || batch.messages.length === 0) return;
    const topic = this.logical(batch.topic);
    const records: BusRecord[] = batch.messages.map((m) => ({
      topic,
      partition: batch.partition,
      offset: Number(m.offset),
      key: m.key?.toString() ?? "",
      value: m.value ? new Uint8Array(m.value.buffer, m.value.byteOffset, m.value.byteLength) : new Uint8Array(),
      timestamp: Number(m.timestamp),
    }));
    const max = this.options.maxBatch ?? 2000;
    for (let i = 0; i < records.length; i += max) {
      const slice = records.slice(i, i + max);
      const last = slice[slice.length - 1]!;
      const work = (async () => {
        await this.handle({ topic, partition: batch.partition, records: slice }, this);
        if (this.options.commit === "auto") await this.commit([{ topic, partition: batch.partition, offset: last.offset + 1 }]);
      })();
      this.inFlight.add(work);
      try {
        await work;
        this.failures.delete(`${topic}/${batch.partition}`);
      } catch (e) {
        // At-least-once: fetch the same records again after a pause, never skip them.
        const failures = (this.failures.get(`${topic}/${batch.partition}`) ?? 0) + 1;
        this.failures.set(`${topic}/${batch.partition}`, failures);
        this.bus.log.warn(`kafka: ${this.options.group} ${topic}/${batch.partition}@${slice[0]!.offset}: ${(e as Error).message}; retrying`);
        await sleep(backoffDelay(REDELIVERY_BACKOFF, failures), this.halted.signal);
        consumer.seek({ topic: batch.topic, partition: batch.partition, offset: String(slice[0]!.offset) });
        return;
      } finally {
        this.inFlight.delete(work);
      }
      resolveOffset(String(last.offset));
      await heartbeat();
      if (this.stopping || !isRunning() || isStale()) return;
    }
    // The batch may end with a transaction marker: its offset is read too.
    this.options.onPosition?.(topic, batch.partition, Number(batch.lastOffset()) + 1);
  }
}
