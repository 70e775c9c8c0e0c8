import { hostname } from "node:os";
import type { Kafka, Producer, Transaction } from "kafkajs";
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

/** One transactional producer and the end of the last transaction it carried (a producer runs one at a time). */
interface ProducerSlot {
  producer: Producer | null;
  idle: Promise<void>;
}

/**
 * Transactional producers taken in turn. One producer's next transaction can begin only once its last
 * has ended, and the coordinator answers CONCURRENT_TRANSACTIONS to one begun right after that end (until
 * the last one's markers are written: a few ms), which kafkajs waits out with its first retry (100 ms):
 * the tail of the alert latency. Two in turn leave each a whole transaction's time to settle.
 */
const PRODUCERS = 2;

/**
 * A consumer's `commitWith`: its messages and its group's offsets in one Kafka transaction, through
 * transactional producers taken in turn (PRODUCERS; their ids name the group, this process and the slot).
 *
 * A transaction costs about five round trips in kafkajs (add partitions, produce, add offsets, commit
 * offsets, end), whatever it carries. Calls made while one is being prepared share the next one (group
 * commit, as publish does for sends): the partitions of a fetch, handled concurrently, commit together.
 * A shared transaction is still one unit: every caller's messages and offsets become visible together, or
 * none of them and every caller gets the error (and redoes its batch). Begun on the next turn of the event
 * loop, not at once: the other partitions of the fetch, whose handlers resume from the same awaited answer
 * (one shared thresholds read), call within this turn.
 *
 * Order is kept as with one producer: a transaction is prepared (orders produced, offsets added) only
 * after the one before it was, so its offset records follow that one's in the group's log (the group's
 * offsets never move back, whichever markers land first), and it ends only after the one before it has.
 */
export class KafkaTransactions {
  private readonly slots: ProducerSlot[] = Array.from({ length: PRODUCERS }, () => ({ producer: null, idle: Promise.resolve() }));
  private next = 0;
  /** The end of the last transaction formed; the next one ends after it. */
  private last: Promise<void> = Promise.resolve();
  private readonly pending = new Coalescer<PendingTransaction, { ended: Promise<void> }>((group) => this.prepare(group), {
    begin: "turn",
    limit: BATCH_LIMIT,
  });

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: KafkaTopics,
    private readonly placement: KeyPlacement,
    /** The consumer group (logical name) whose offsets the transactions commit. */
    private readonly group: string,
  ) {}

  async commitWith(publish: Publish, offsets: OffsetCommit[]): Promise<void> {
    let bytes = 0;
    for (const p of publish) for (const m of p.messages) bytes += m.key.length + (typeof m.value === "string" ? m.value.length : m.value.byteLength);
    const { ended } = await this.pending.add({ publish, offsets, bytes });
    return ended;
  }

  /**
   * Lets the producers go; the next transactions begin with new ones, which fence them (same transactional
   * ids): after a consumer was replaced its transactions may be as stale as its metadata.
   */
  async reset(): Promise<void> {
    await Promise.all(
      this.slots.map(async (slot) => {
        const p = slot.producer;
        slot.producer = null;
        await deadline(p?.disconnect() ?? Promise.resolve(), 10_000, "disconnect").catch(() => {});
      }),
    );
  }

  /**
   * Forms a transaction of the calls waiting: prepares it on the next producer (once that producer's last
   * transaction has ended) and hands back its end. The coalescer forms the next one only after this
   * returns, so preparations run one after the other, in the order of the calls.
   */
  private async prepare(group: PendingTransaction[]): Promise<{ ended: Promise<void> }> {
    const slot = this.slots[this.next++ % PRODUCERS]!;
    await slot.idle;
    const prepared = this.begin(
      slot,
      group.flatMap((g) => g.publish),
      group.flatMap((g) => g.offsets),
    );
    const ended = this.end(prepared, this.last);
    this.last = ended.catch(() => {});
    slot.idle = this.last;
    // A failed preparation is told through `ended`: the coalescer only waits for it to be over.
    await prepared.catch(() => {});
    return { ended };
  }

  /** Opens the transaction and sends everything but its end: the orders, then the offsets. */
  private async begin(slot: ProducerSlot, publish: Publish, offsets: OffsetCommit[]): Promise<Transaction> {
    const producer = await this.producer(slot);
    const tx = await producer.transaction();
    try {
      const topicMessages = this.placement.placeAll(
        publish.map((p) => ({ topic: p.topic, messages: p.messages.map((m) => ({ key: m.key, value: toBuffer(m.value) })) })),
      );
      // As for publish: an order whose partition kafkajs skipped must not commit with the offsets.
      if (topicMessages.length > 0) checkWritten(topicMessages, await tx.sendBatch({ acks: -1, topicMessages }));
      await tx.sendOffsets({ consumerGroupId: this.topics.name(this.group), topics: furthest(offsets, (t) => this.topics.name(t)) });
      return tx;
    } catch (e) {
      await tx.abort().catch(() => {});
      throw e;
    }
  }

  /** Commits the prepared transaction once the one before it has ended (whatever its outcome: they carry other batches). */
  private async end(prepared: Promise<Transaction>, before: Promise<void>): Promise<void> {
    await before;
    const tx = await prepared;
    try {
      await tx.commit();
    } catch (e) {
      await tx.abort().catch(() => {});
      throw e;
    }
  }

  private async producer(slot: ProducerSlot): Promise<Producer> {
    if (!slot.producer) {
      const p = this.kafka.producer({
        transactionalId: `${this.topics.name(this.group)}-${hostname()}-${process.pid}-${this.slots.indexOf(slot)}`,
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
      slot.producer = p;
    }
    return slot.producer;
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
