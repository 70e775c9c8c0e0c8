import type { Kafka, Producer } from "kafkajs";
import { Coalescer } from "../../coalescer.ts";
import type { OffsetCommit, OutgoingMessage } from "../../ports/bus.ts";
import { deadline, retry, type RetryOptions } from "../../retry.ts";
import { BATCH_LIMIT, checkWritten, toBuffer, type KeyPlacement } from "./producer.ts";
import type { KafkaTopics } from "./topics.ts";

/** Longest a transaction of the alert role may stay open; see PartitionTransactions.producer(). */
export const TRANSACTION_TIMEOUT_MS = 10_000;

/**
 * kafkajs sends AddOffsetsToTxn once: in a transaction of offsets alone (a fetch without an order, the
 * common case) begun right after the previous commit, the coordinator answers CONCURRENT_TRANSACTIONS
 * until it has written the previous markers, and the whole batch failed and was redelivered after the
 * consumer's backoff (≥ 200 ms). The transaction is still open and the request can be made again: retried
 * here, from 5 ms, for at most 2 s (measured on one broker: offsets-only transactions back to back, p50
 * 5 / p99 20 ms; 93 of 150 met the answer at least once).
 */
const ADD_OFFSETS_RETRY: RetryOptions = {
  baseMs: 5,
  capMs: 200,
  deadlineMs: 2000,
  retriable: (e) => (e as { type?: string }).type === "CONCURRENT_TRANSACTIONS",
};

type Publish = Array<{ topic: string; messages: OutgoingMessage[] }>;
type Partition = { topic: string; partition: number };

interface PendingTransaction {
  publish: Publish;
  offsets: OffsetCommit[];
  bytes: number;
}

/**
 * A consumer's `commitWith`: its messages and its group's offsets in one Kafka transaction, through one
 * transactional producer **per input partition**, whose id names the group and the partition — the same
 * in every process. Kafka fences a transactional id's previous producer when a new one registers it
 * (InitProducerId), and first completes or aborts that producer's transaction in flight. So the member a
 * rebalance gives a partition registers its producer before it reads the partition's committed offset
 * (`fence`, from the consumer's assignment): a commit of the previous owner still under way has then
 * either landed (its offset is the one read) or been aborted, and any later one is refused. Without it
 * (kafkajs has no KIP-447: its offset commits in a transaction carry no group generation, and its offset
 * reads do not wait for pending transactional commits), the previous owner's commit could land after the
 * new owner read the older offset: both published the batch's orders.
 *
 * A transaction costs about five round trips in kafkajs (add partitions, produce, add offsets, commit
 * offsets, end). Calls for one partition made while its transaction is being prepared or in flight share
 * the next one (group commit); the partitions of a fetch, handled concurrently, commit side by side.
 */
export class KafkaTransactions {
  private readonly partitions = new Map<string, PartitionTransactions>();

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: KafkaTopics,
    private readonly placement: KeyPlacement,
    /** The consumer group (logical name) whose offsets the transactions commit. */
    private readonly group: string,
  ) {}

  /** One partition's publish and offsets (a transactional id fences one partition: a call spanning two is refused). */
  commitWith(publish: Publish, offsets: OffsetCommit[]): Promise<void> {
    const keys = new Set(offsets.map((o) => key(o)));
    if (keys.size !== 1)
      return Promise.reject(new Error(`commitWith takes the offsets of exactly one partition (got ${keys.size}): each partition's transactions are its own`));
    let bytes = 0;
    for (const p of publish) for (const m of p.messages) bytes += m.key.length + (typeof m.value === "string" ? m.value.length : m.value.byteLength);
    return this.of(offsets[0]!).commitWith({ publish, offsets, bytes });
  }

  /**
   * Registers the producers of partitions just assigned (those without one): their previous owners are
   * fenced and their transactions in flight concluded. Resolves with the partitions registered now, whose
   * committed offsets the consumer must read again (what it read before may predate the last commit).
   */
  async fence(assigned: Partition[]): Promise<Partition[]> {
    const fresh = assigned.filter((p) => !this.partitions.get(key(p))?.registered);
    await Promise.all(fresh.map((p) => this.of(p).register()));
    return fresh;
  }

  /** Lets the producers of partitions given away go (their next owner fences them anyway). */
  async release(partitions: Partition[]): Promise<void> {
    await Promise.all(
      partitions.map((p) => {
        const t = this.partitions.get(key(p));
        this.partitions.delete(key(p));
        return t?.reset();
      }),
    );
  }

  /**
   * Lets every producer go; the next transaction of a partition begins with a new one, which fences it
   * (same transactional id): after a consumer was replaced its transactions may be as stale as its metadata.
   */
  async reset(): Promise<void> {
    const all = [...this.partitions.values()];
    this.partitions.clear();
    await Promise.all(all.map((t) => t.reset()));
  }

  private of(p: Partition): PartitionTransactions {
    let t = this.partitions.get(key(p));
    if (!t) {
      const transactionalId = `${this.topics.name(this.group)}-${this.topics.name(p.topic)}-${p.partition}`;
      t = new PartitionTransactions(this.kafka, transactionalId, (publish, offsets) => this.send(publish, offsets));
      this.partitions.set(key(p), t);
    }
    return t;
  }

  /** One transaction's content on its producer: the messages (each partition kafkajs skipped refused) and the offsets. */
  private send(publish: Publish, offsets: OffsetCommit[]) {
    return async (tx: Awaited<ReturnType<Producer["transaction"]>>) => {
      const topicMessages = this.placement.placeAll(
        publish.map((p) => ({ topic: p.topic, messages: p.messages.map((m) => ({ key: m.key, value: toBuffer(m.value) })) })),
      );
      // As for publish: an order whose partition kafkajs skipped must not commit with the offsets.
      if (topicMessages.length > 0) checkWritten(topicMessages, await tx.sendBatch({ acks: -1, topicMessages }));
      const topics = furthest(offsets, (t) => this.topics.name(t));
      await retry(() => tx.sendOffsets({ consumerGroupId: this.topics.name(this.group), topics }), ADD_OFFSETS_RETRY);
    };
  }
}

type TransactionBody = (tx: Awaited<ReturnType<Producer["transaction"]>>) => Promise<void>;

/** One input partition's transactional producer and the queue of its transactions. */
class PartitionTransactions {
  private current: Producer | null = null;
  private connecting: Promise<Producer> | null = null;
  /** Its transactional id registered (the transactional InitProducerId answered): the fence is up. */
  registered = false;
  /** Why this partition's producer was fenced by another member (then no transaction until fence()). */
  private fenced: string | null = null;
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
    private readonly transactionalId: string,
    private readonly body: (publish: Publish, offsets: OffsetCommit[]) => TransactionBody,
  ) {}

  commitWith(t: PendingTransaction): Promise<void> {
    return this.pending.add(t);
  }

  /**
   * The fence: kafkajs sends the transactional InitProducerId with a producer's first transaction (its
   * connect registers an idempotent id only), so one is begun here and ended with nothing in it, which
   * sends no request. Kafka answers once the id's previous producer is fenced and its transaction ended.
   */
  async register(): Promise<void> {
    const p = await this.producer();
    if (this.registered) return;
    const tx = await p.transaction();
    await tx.abort();
    this.registered = true;
    this.fenced = null;
  }

  async reset(): Promise<void> {
    const p = this.current ?? (await this.connecting?.catch(() => null)) ?? null;
    this.current = null;
    this.connecting = null;
    this.registered = false;
    await deadline(p?.disconnect() ?? Promise.resolve(), 10_000, "disconnect").catch(() => {});
  }

  private async transaction(publish: Publish, offsets: OffsetCommit[]): Promise<void> {
    // Fenced: another member registered this partition's id, so it owns the partition now. A new producer
    // here would fence it in turn and could commit this member's stale batch; only a new assignment of the
    // partition (fence) registers again.
    if (this.fenced) throw new Error(`${this.transactionalId}: fenced by the partition's next owner (${this.fenced}); waiting for a new assignment`);
    const producer = await this.producer();
    const tx = await producer.transaction();
    this.registered = true;
    try {
      await this.body(publish, offsets)(tx);
      await tx.commit();
    } catch (e) {
      const aborted = await tx.abort().then(
        () => true,
        () => false,
      );
      if (isFenced(e)) {
        this.fenced = (e as Error).message;
        await this.reset();
      } else if (!aborted) await this.reset();
      throw e;
    }
  }

  private producer(): Promise<Producer> {
    if (this.current) return Promise.resolve(this.current);
    this.connecting ??= (async () => {
      const p = this.kafka.producer({
        transactionalId: this.transactionalId,
        // A process killed inside a transaction leaves it open, and read_committed readers (the sink, the
        // live feed, a restarted alert process's seed) stop at it until the broker aborts it: after this
        // long (+ the broker's abort check, 10 s by default) instead of kafkajs's 60 s — unless the
        // partition's next owner registers the same id first, which aborts it at once. A transaction
        // here is one fetch's batch (send + offsets + commit): milliseconds.
        transactionTimeout: TRANSACTION_TIMEOUT_MS,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      });
      try {
        // kafkajs's connect of a transactional producer sends InitProducerId: the fence.
        await p.connect();
      } catch (e) {
        this.connecting = null;
        await p.disconnect().catch(() => {});
        throw e;
      }
      this.current = p;
      return p;
    })();
    return this.connecting;
  }
}

/** Kafka's answers to a producer whose transactional id a newer producer registered: PRODUCER_FENCED, INVALID_PRODUCER_EPOCH. */
function isFenced(e: unknown): boolean {
  for (let x = e as { type?: string; cause?: unknown; originalError?: unknown } | undefined, depth = 0; x && depth < 5; depth++) {
    if (x.type === "PRODUCER_FENCED" || x.type === "INVALID_PRODUCER_EPOCH") return true;
    x = (x.originalError ?? x.cause) as typeof x;
  }
  return false;
}

function key(p: Partition): string {
  return `${p.topic}/${p.partition}`;
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
