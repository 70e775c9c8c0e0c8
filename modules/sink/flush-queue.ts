import type { Consumer } from "../../src/ports/bus.ts";
import type { Log } from "../lifecycle.ts";
import { SerialQueue } from "../serial-queue.ts";
import type { AssignedPartition, SinkPartitions } from "./assignment.ts";
import type { DatasetWriter } from "./lake-writer.ts";
import type { PartitionBuffer } from "./partition-buffer.ts";

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

  private async flushOne(b: PartitionBuffer): Promise<void> {
    if (!this.consumer) return;
    await this.commitPending(b);
    if (b.records.length === 0) return;
    const taken = b.take();
    this.partitions.writing += taken.bytes;
    try {
      await this.writers.get(b.topic)!.write(b.partition, taken.records, taken.rows);
    } catch (e) {
      b.restore(taken);
      throw e;
    } finally {
      this.partitions.writing -= taken.bytes;
    }
    // Published: its records are in the lake, and never buffered or written again (a rewrite of the same
    // range would drop every row as a resend of itself: its ids are already remembered). A failed commit
    // is retried on its own; until it succeeds a restart or rebalance resumes after the lake's offsets.
    b.uncommitted = taken.records[taken.records.length - 1]!.offset + 1;
    this.partitions.markPublished(b, b.uncommitted - 1);
    await this.commitPending(b);
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
