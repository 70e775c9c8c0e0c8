import type { Consumer } from "../../src/ports/bus.ts";
import type { Lake } from "../../src/ports/lake.ts";
import type { Log } from "../lifecycle.ts";
import { SerialQueue } from "../serial-queue.ts";
import type { AssignedPartition, SinkPartitions } from "./assignment.ts";
import { encodeLink, fileExists, linkPath, readLink, type ChainLink, type ChainPosition } from "./chain.ts";
import type { DatasetWriter } from "./lake-writer.ts";
import type { PartitionBuffer } from "./partition-buffer.ts";

/** Links one flush of a partition walks at most (each a claim, or another writer's file looked at): the rest waits for the next flush. */
const MAX_LINKS_PER_FLUSH = 1000;

/**
 * Writes buffers to the lake and commits their offsets. Flushes are serialised so a timer flush and a
 * size flush never write the same partition at once, and an assignment runs in the same queue (see
 * `assign`). Within one flush the partitions' files are written concurrently: each is encoded (CPU) while
 * the files before it travel to HDFS and their offsets are committed (round trips), instead of one
 * partition's encode → write → rename → commit after the other.
 */
export class FlushQueue {
  private readonly queue = new SerialQueue();
  private consumer: Consumer | null = null;
  private ticking = false;

  constructor(
    private readonly partitions: SinkPartitions,
    /** Per topic. */
    private readonly writers: ReadonlyMap<string, DatasetWriter<unknown>>,
    private readonly lake: Lake,
    private readonly log: Log,
  ) {}

  /** Nothing is written before the consumer exists: a file's offsets are committed through it. */
  attach(consumer: Consumer): void {
    this.consumer = consumer;
  }

  /** Writes the buffers `due` picks (and retries commits still pending); rejects with the first failure. */
  flush(due: (b: PartitionBuffer) => boolean): Promise<void> {
    return this.queue.run(async () => {
      const writes: Promise<void>[] = [];
      for (const b of this.partitions.buffers.values()) {
        if (b.records.length > 0 && due(b)) writes.push(this.flushOne(b));
        else if (b.uncommitted !== undefined) writes.push(this.commitPending(b));
      }
      // Every write ends (each restores its own buffer on failure) before the first error is reported.
      const failed = (await Promise.allSettled(writes)).find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
    });
  }

  /**
   * A timer's flush, skipped while the previous tick's is still queued or running. Queued on every tick,
   * slow flushes (commits refused for seconds each, a DataNode away) piled up without bound, and a size
   * flush (its batch handler holding kafkajs's fetch loop, and with it the heartbeats) or an assignment
   * waited behind them all.
   */
  tick(due: (b: PartitionBuffer) => boolean): void {
    if (this.ticking) return;
    this.ticking = true;
    this.flush(due)
      .catch((e) => this.log.warn(`sink: flush failed, will retry: ${(e as Error).message}`))
      .finally(() => (this.ticking = false));
  }

  /**
   * Inside the flush queue: a flush publishing a file between the assignment's listing of the lake and its
   * new buffers would have its range delivered again and rewritten, every row dropped as a resend of
   * itself — an empty file over the good one (found by tests/faults, Kafka brokers stopped).
   */
  assign(parts: AssignedPartition[]) {
    return this.queue.run(() => this.partitions.assign(parts));
  }

  /**
   * Publishes the buffer along its partition's lake chain (modules/sink/chain.ts): a file whose start this
   * writer claims, after any files other writers claimed first (published here when missing and the
   * records are in hand). Returns early while a link claimed by another lacks both its file and, here,
   * its records (the next flush looks again).
   */
  private async flushOne(b: PartitionBuffer): Promise<void> {
    if (!this.consumer) return;
    await this.commitPending(b);
    const chain = this.partitions.chain(b);
    for (let step = 0; step < MAX_LINKS_PER_FLUSH; step++) {
      b.takeThrough(chain.end); // another writer's files hold them
      if (b.records.length === 0) return;
      if (!chain.pending) {
        const writer = this.writers.get(b.topic)!;
        const first = b.records[0]!.offset;
        const link = { first, last: b.records[b.records.length - 1]!.offset, path: writer.pathOf(b.partition, b.records) };
        const claimed = await this.lake.createExclusive(linkPath(b.topic, b.partition, first), encodeLink(link));
        chain.pending = claimed ? link : await readLink(this.lake, b.topic, b.partition, first);
        // Claimed here: nobody else publishes this range unless this writer is replaced, so no need to look first.
        if (claimed) return this.publish(b, chain, chain.pending);
        this.log.info(`sink: ${b.topic}/${b.partition}@${first} was claimed by another writer (up to ${chain.pending.last}); going on after it`);
      }
      const link = chain.pending;
      if (await fileExists(this.lake, link.path)) {
        this.advance(b, chain, link);
        b.uncommitted = link.last + 1;
      } else if (b.records[b.records.length - 1]!.offset >= link.last) await this.publish(b, chain, link);
      else return; // its writer may still publish it; else the records come, or the partition's next owner redoes it
    }
  }

  /** Writes exactly the link's range to its path; the chain then moves past it, and its offsets are committed. */
  private async publish(b: PartitionBuffer, chain: ChainPosition, link: ChainLink): Promise<void> {
    const taken = b.takeThrough(link.last);
    this.partitions.writing += taken.bytes;
    try {
      await this.writers.get(b.topic)!.write(link.path, taken.records, taken.rows);
    } catch (e) {
      b.restore(taken);
      throw e;
    } finally {
      this.partitions.writing -= taken.bytes;
    }
    // Published: its records are in the lake, and never buffered or written again (a rewrite of the same
    // range would drop every row as a resend of itself: its ids are already remembered). A failed commit
    // is retried on its own; until it succeeds a restart or rebalance resumes after the lake's offsets.
    this.advance(b, chain, link);
    b.uncommitted = link.last + 1;
    await this.commitPending(b);
  }

  private advance(b: PartitionBuffer, chain: ChainPosition, link: ChainLink): void {
    chain.end = link.last;
    chain.pending = undefined;
    this.partitions.markPublished(b, link.last);
  }

  /** Commits the offsets of the buffer's last published file, if not done yet (lake offsets; the bus's are `base` lower). */
  private async commitPending(b: PartitionBuffer): Promise<void> {
    const offset = b.uncommitted;
    if (offset === undefined) return;
    try {
      await this.consumer!.commit([{ topic: b.topic, partition: b.partition, offset: offset - b.base }]);
      if (b.uncommitted === offset) b.uncommitted = undefined;
    } catch (e) {
      if (b.uncommittedLogged === offset) return;
      b.uncommittedLogged = offset;
      this.log.warn(`sink: committing ${b.topic}/${b.partition}@${offset} (its file is in the lake) failed, will retry: ${(e as Error).message}`);
    }
  }
}
