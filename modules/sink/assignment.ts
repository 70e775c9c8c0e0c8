import type { OffsetCommit } from "../../src/ports/bus.ts";
import type { Lake } from "../../src/ports/lake.ts";
import type { Log } from "../lifecycle.ts";
import { readChains, type ChainPosition } from "./chain.ts";
import { PartitionBuffer, partitionKey } from "./partition-buffer.ts";

export type AssignedPartition = { topic: string; partition: number; committed: number };

/**
 * The partitions this sink owns: a buffer each, where each one's lake chain stands (modules/sink/chain.ts),
 * and the last offset this process published for each. Where a partition resumes is decided here: at the
 * chain's last link when its file is missing (that exact range is published again), else after its
 * committed offset, or after the chain's end, or after what this process published, whichever is furthest.
 */
export class SinkPartitions {
  readonly buffers = new Map<string, PartitionBuffer>();
  /** Per topic/partition, as far as this process knows: what publishes next, and where. */
  readonly chains = new Map<string, ChainPosition>();
  /** Last offset this process published per topic/partition: never buffered again, whatever Kafka redelivers. */
  private readonly published = new Map<string, number>();

  constructor(
    private readonly lake: Lake,
    private readonly log: Log,
    /** Lake offset = bus offset + base (the lake's bus epoch); kept in lake offsets here, the bus's on seeks and commits. */
    private readonly base: Readonly<Record<string, number>> = {},
  ) {}

  /** The lake is the sink's source of truth: skip what a previous owner wrote but did not commit, redo a link left without its file. */
  async assign(parts: AssignedPartition[]): Promise<OffsetCommit[]> {
    const chains = await readChains(this.lake);
    const seeks: OffsetCommit[] = [];
    let redone = 0;
    for (const p of parts) {
      const key = partitionKey(p.topic, p.partition);
      const base = this.base[key] ?? 0;
      const committed = p.committed + base;
      const pos = this.position(key, chains.get(key), base);
      if (pos.pending) redone++;
      const from = pos.pending ? pos.pending.first : Math.max(pos.end + 1, committed);
      // Records fetched before the seek takes effect are dropped by offset.
      const b = new PartitionBuffer(p.topic, p.partition, from, base);
      if (from !== committed) seeks.push({ topic: p.topic, partition: p.partition, offset: from - base });
      // The lake holds the range: its commit, refused or never made by the partition's last owner (this
      // member's predecessor when the bus replaced it), is this owner's to make (by the next flush), not
      // left until the partition's next file.
      if (from > committed) b.uncommitted = from;
      this.buffers.set(key, b);
      this.chains.set(key, pos);
    }
    if (seeks.length > 0) this.log.info(`sink: resuming ${seeks.length} partition(s) at their lake chains' ends`);
    if (redone > 0) this.log.info(`sink: ${redone} partition(s) end with a chain link whose file is missing: publishing exactly its range again`);
    return seeks;
  }

  /** The lake's chain position, moved past what this process published (the listing cannot be behind it, but costs nothing to trust less). */
  private position(key: string, fromLake: ChainPosition | undefined, base: number): ChainPosition {
    const mine = this.published.get(key) ?? -1;
    const pos: ChainPosition = { end: fromLake?.end ?? -1, pending: fromLake?.pending };
    if (mine > pos.end) pos.end = mine;
    if (pos.pending && pos.pending.first < base) {
      // Claimed on the lake's previous bus and never written, that bus since replaced (`acu lake adopt-bus`): its records are not on this one.
      this.log.warn(`sink: ${key}: the lake's chain claims offsets ${pos.pending.first}-${pos.pending.last} of the previous bus, never written; skipped`);
      pos.end = pos.pending.last;
    }
    if (pos.pending && pos.pending.last <= pos.end) pos.pending = undefined;
    return pos;
  }

  /** Partitions given to another member: their unwritten records are left to it. */
  lose(parts: Array<{ topic: string; partition: number }>): void {
    for (const p of parts) {
      this.buffers.delete(partitionKey(p.topic, p.partition));
      this.chains.delete(partitionKey(p.topic, p.partition));
    }
    this.log.info(`sink: ${parts.length} partition(s) moved to another member; their unwritten records are left to it`);
  }

  buffer(topic: string, partition: number): PartitionBuffer {
    const key = partitionKey(topic, partition);
    let b = this.buffers.get(key);
    if (!b) {
      const base = this.base[key] ?? 0;
      this.buffers.set(key, (b = new PartitionBuffer(topic, partition, base, base)));
    }
    return b;
  }

  /** The chain position of a buffer's partition; one not read from the lake starts before its first link (claims then find the links). */
  chain(b: PartitionBuffer): ChainPosition {
    let c = this.chains.get(b.key);
    if (!c) this.chains.set(b.key, (c = { end: -1 }));
    return c;
  }

  /** Bytes buffered over every partition, written or not yet (a file being written still holds its records). */
  bufferedBytes(): number {
    let n = 0;
    for (const b of this.buffers.values()) n += b.bytes;
    return n + this.writing;
  }

  /** Bytes of files being written: taken out of their buffers, still in memory until published. */
  writing = 0;

  /** The first offset of a partition still to buffer. */
  acceptFrom(b: PartitionBuffer): number {
    return Math.max(b.next, (this.published.get(b.key) ?? -1) + 1, (this.chains.get(b.key)?.end ?? -1) + 1);
  }

  markPublished(b: PartitionBuffer, lastOffset: number): void {
    this.published.set(b.key, lastOffset);
  }
}

/** Highest offset per topic/partition that the lake already holds, or that its chain's last link claims. */
export async function highestWrittenOffsets(lake: Lake): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [k, c] of await readChains(lake)) out.set(k, c.highest);
  return out;
}
