import { Partitioners, type Kafka, type Producer } from "kafkajs";
import { Coalescer } from "../../coalescer.ts";
import { BusUnavailableError, type OutgoingMessage } from "../../ports/bus.ts";
import { deadline } from "../../retry.ts";
import type { KafkaTopics } from "./topics.ts";

export interface KeyedMessage {
  key: string;
  value: Buffer;
}

/**
 * What one request or transaction carries: up to ~900 KB of messages (a partition's record batch in one
 * request stays under the broker's message.max.bytes), at least one caller's.
 */
export const BATCH_LIMIT = { weight: (p: { bytes: number }) => p.bytes, max: 900 * 1024 };

const keyPartitioner = Partitioners.DefaultPartitioner();

/**
 * Each message with its partition set, by kafkajs's own default partitioner (the same choice it would
 * make): the partitions a request must have written are then known, and checkWritten verifies them.
 */
export class KeyPlacement {
  /** Per topic: key → partition, as kafkajs's default partitioner chose it (bounded: dropped past 200,000 keys). */
  private readonly known = new Map<string, Map<string, number>>();

  constructor(private readonly topics: KafkaTopics) {}

  /** The messages of `topic` (logical name) for a request: the cluster's topic name, each message with its partition. */
  place(topic: string, ms: KeyedMessage[]): { topic: string; messages: Array<KeyedMessage & { partition: number }> } {
    const count = this.topics.partitions(topic);
    const partitionMetadata = Array.from({ length: count }, (_, i) => ({ partitionId: i, leader: 0, replicas: [], isr: [], partitionErrorCode: 0 }));
    // A key's partition depends only on the key and the count, and ingest sees the same students again and
    // again: remembered, it costs a lookup instead of kafkajs's murmur2 and its per-message array filter.
    let known = this.known.get(topic);
    if (!known || known.size > 200_000) this.known.set(topic, (known = new Map()));
    const name = this.topics.name(topic);
    return {
      topic: name,
      messages: ms.map((m) => {
        let partition = known.get(m.key);
        if (partition === undefined) known.set(m.key, (partition = keyPartitioner({ topic, partitionMetadata, message: m })));
        return { key: m.key, value: m.value, partition };
      }),
    };
  }

  /** The messages of several callers, one entry per topic, in the callers' order (topics without messages left out). */
  placeAll(parts: Array<{ topic: string; messages: KeyedMessage[] }>): Array<{ topic: string; messages: Array<KeyedMessage & { partition: number }> }> {
    return [...groupByTopic(parts)].map(([t, ms]) => this.place(t, ms));
  }
}

interface PendingPublish {
  topic: string;
  messages: KeyedMessage[];
  bytes: number;
  /** performance.now() when the publish was made: its deadline counts from here. */
  arrivedAt: number;
}

export interface SendLimits {
  /** A publish settles within this many ms of its arrival (queueing, connecting a producer and the request included). */
  timeoutMs: number;
  /** Bytes of publishes waiting or in flight at most; one beyond it is refused at once (ingest: 503 + Retry-After). */
  queueBytes: number;
}

/**
 * The bus's publishes. The idempotent producer has one request in flight (maxInFlightRequests: 1, for
 * ordering), so each send waits for the one before. Publishes that arrive meanwhile are sent together in
 * the next request (group commit): one acks=all round trip for all of them instead of one each, in arrival
 * order. Each caller's promise settles with the request that carried its messages.
 *
 * Bounded twice, so slow or absent brokers cost a refusal, not memory or a hang: the bytes waiting (a
 * publish beyond `queueBytes` is refused at once), and the time (a publish settles within `timeoutMs` of
 * its arrival: one still waiting at its deadline is refused without being sent, and a request gets only
 * the time its oldest publish has left).
 */
export class KafkaSends {
  private producer: Producer;
  private producerReady: Promise<void> = Promise.resolve();
  /** Publishes that reached their deadline before their request left: refused, never sent. */
  private readonly sends = new Coalescer<PendingPublish, ReadonlySet<PendingPublish>>((batch) => this.send(batch), { begin: "now", limit: BATCH_LIMIT });
  private queuedBytes = 0;

  private constructor(
    private readonly kafka: Kafka,
    private readonly placement: KeyPlacement,
    private readonly limits: SendLimits,
    producer: Producer,
  ) {
    this.producer = producer;
  }

  static async open(kafka: Kafka, placement: KeyPlacement, limits: SendLimits): Promise<KafkaSends> {
    const producer = newProducer(kafka);
    await producer.connect();
    return new KafkaSends(kafka, placement, limits, producer);
  }

  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const kms = messages.map((m) => ({ key: m.key, value: toBuffer(m.value) }));
    let bytes = 0;
    for (const m of kms) bytes += m.value.byteLength + m.key.length;
    // One publish alone is always taken (ingest bounds a request's body), so a bound below it cannot wedge.
    if (this.queuedBytes > 0 && this.queuedBytes + bytes > this.limits.queueBytes)
      throw new BusUnavailableError(
        `the Kafka publish queue is full (${this.queuedBytes} bytes waiting for the brokers, ACU_KAFKA_PUBLISH_QUEUE_BYTES ${this.limits.queueBytes}): ${kms.length} message(s) on ${topic} refused`,
      );
    const item = { topic, messages: kms, bytes, arrivedAt: performance.now() };
    this.queuedBytes += bytes;
    try {
      const expired = await this.sends.add(item);
      if (expired.has(item)) throw new Error(`no request could carry them within ${this.limits.timeoutMs} ms`);
    } catch (e) {
      throw new BusUnavailableError(`Kafka did not take ${kms.length} message(s) on ${topic}: ${(e as Error).message}`);
    } finally {
      this.queuedBytes -= bytes;
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => {});
  }

  /**
   * One request for the publishes of a batch still within their deadline, given the time the oldest has
   * left; the ones past it are returned, unsent. After a failure the producer is replaced (see replaceProducer).
   */
  private async send(batch: PendingPublish[]): Promise<ReadonlySet<PendingPublish>> {
    const now = performance.now();
    const left = (p: PendingPublish) => p.arrivedAt + this.limits.timeoutMs - now;
    const expired = new Set(batch.filter((p) => left(p) <= 0));
    const live = batch.filter((p) => !expired.has(p));
    if (live.length === 0) return expired;
    try {
      await deadline(
        (async () => {
          await this.producerReady;
          const topicMessages = this.placement.placeAll(live);
          checkWritten(topicMessages, await this.producer.sendBatch({ acks: -1, topicMessages }));
        })(),
        Math.min(...live.map(left)),
        `no answer within ${this.limits.timeoutMs} ms of the publish`,
      );
    } catch (e) {
      this.replaceProducer();
      throw e;
    }
    return expired;
  }

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
}

/**
 * Every partition a request carried messages for must be in the answer, without error. kafkajs, when a
 * partition's leader moves during a send, retries only the brokers that had not answered: a partition
 * that moved to a broker that already answered (for its other partitions) is never sent, and sendBatch
 * still resolves — acknowledged, not written. Found by stopping one of 3 brokers (tests/faults).
 */
export function checkWritten(
  sent: Array<{ topic: string; messages: Array<{ partition: number }> }>,
  answer: Array<{ topicName: string; partition: number; errorCode: number }>,
): void {
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

/** Messages per topic, in the callers' order; topics without messages left out. */
function groupByTopic(parts: Array<{ topic: string; messages: KeyedMessage[] }>): Map<string, KeyedMessage[]> {
  const byTopic = new Map<string, KeyedMessage[]>();
  for (const p of parts) {
    if (p.messages.length === 0) continue;
    const list = byTopic.get(p.topic);
    if (list) for (const m of p.messages) list.push(m);
    else byTopic.set(p.topic, [...p.messages]);
  }
  return byTopic;
}

function newProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
}

export function toBuffer(v: string | Uint8Array): Buffer {
  return typeof v === "string" ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}
