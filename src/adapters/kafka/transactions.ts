import { hostname } from "node:os";
import type { Kafka, Producer } from "kafkajs";
import { Coalescer } from "../../coalescer.ts";
import type { OffsetCommit, OutgoingMessage } from "../../ports/bus.ts";
import { deadline } from "../../retry.ts";
import { BATCH_LIMIT, checkWritten, toBuffer, type KeyPlacement } from "./producer.ts";
import type { KafkaTopics } from "./topics.ts";

/** Longest a transaction of the alert role may stay open; see KafkaTransactions.producer(). */
export const TRANSACTION_TIMEOUT_MS = 10_000;

type Publish = Array<{ topic: string; messages: OutgoingMessage[] }>;

interface PendingTransaction {
  publish: Publish;
  offsets: OffsetCommit[];
  bytes: number;
}

/**
 * A consumer's `commitWith`: its messages and its group's offsets in one Kafka transaction, through one
 * transactional producer per consumer (its id names the group and this process).
 *
 * A transaction costs about five round trips in kafkajs (add partitions, produce, add offsets, commit
 * offsets, end), whatever it carries. Calls made while one is being prepared or is in flight share the
 * next one (group commit, as publish does for sends): the partitions of a fetch, handled concurrently,
 * commit together. A shared transaction is still one unit: every caller's messages and offsets become
 * visible together, or none of them and every caller gets the error (and redoes its batch). Begun on the
 * next turn of the event loop, not at once: the other partitions of the fetch, whose handlers resume from
 * the same awaited answer (one shared thresholds read), call within this turn.
 */
export class KafkaTransactions {
  private current: Producer | null = null;
  private readonly pending = new Coalescer<PendingTransaction>(
    (group) =>
      this.transaction(
        group.flatMap((g) => g.publish),
        group.flatMap((g) => g.offsets),
      ),
    { begin: "turn", limit: BATCH_LIMIT },
  );

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: KafkaTopics,
    private readonly placement: KeyPlacement,
    /** The consumer group (logical name) whose offsets the transactions commit. */
    private readonly group: string,
  ) {}

  commitWith(publish: Publish, offsets: OffsetCommit[]): Promise<void> {
    let bytes = 0;
    for (const p of publish) for (const m of p.messages) bytes += m.key.length + (typeof m.value === "string" ? m.value.length : m.value.byteLength);
    return this.pending.add({ publish, offsets, bytes });
  }

  /**
   * Lets the producer go; the next transaction begins with a new one, which fences it (same transactional
   * id): after a consumer was replaced its transactions may be as stale as its metadata.
   */
  async reset(): Promise<void> {
    const p = this.current;
    this.current = null;
    await deadline(p?.disconnect() ?? Promise.resolve(), 10_000, "disconnect").catch(() => {});
  }

  private async transaction(publish: Publish, offsets: OffsetCommit[]): Promise<void> {
    const producer = await this.producer();
    const tx = await producer.transaction();
    try {
      const topicMessages = this.placement.placeAll(
        publish.map((p) => ({ topic: p.topic, messages: p.messages.map((m) => ({ key: m.key, value: toBuffer(m.value) })) })),
      );
      // As for publish: an order whose partition kafkajs skipped must not commit with the offsets.
      if (topicMessages.length > 0) checkWritten(topicMessages, await tx.sendBatch({ acks: -1, topicMessages }));
      await tx.sendOffsets({ consumerGroupId: this.topics.name(this.group), topics: furthest(offsets, (t) => this.topics.name(t)) });
      await tx.commit();
    } catch (e) {
      await tx.abort().catch(() => {});
      throw e;
    }
  }

  private async producer(): Promise<Producer> {
    if (!this.current) {
      const p = this.kafka.producer({
        transactionalId: `${this.topics.name(this.group)}-${hostname()}-${process.pid}`,
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
      this.current = p;
    }
    return this.current;
  }
}

/** One offset per partition: the furthest (two calls for one partition cannot overlap, but it costs nothing to be sure). */
function furthest(
  offsets: OffsetCommit[],
  name: (topic: string) => string,
): Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> {
  const next = new Map<string, Map<number, number>>();
  for (const o of offsets) {
    const t = next.get(name(o.topic)) ?? new Map<number, number>();
    t.set(o.partition, Math.max(o.offset, t.get(o.partition) ?? -1));
    next.set(name(o.topic), t);
  }
  return [...next].map(([topic, ps]) => ({ topic, partitions: [...ps].map(([partition, offset]) => ({ partition, offset: String(offset) })) }));
}
