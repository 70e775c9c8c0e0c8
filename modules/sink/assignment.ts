import { LAKE_DIRS, parseLakePath } from "../../src/domain/lake-layout.ts";
import type { OffsetCommit } from "../../src/ports/bus.ts";
import type { Lake } from "../../src/ports/lake.ts";
import type { Log } from "../lifecycle.ts";
import { PartitionBuffer, partitionKey } from "./partition-buffer.ts";

export type AssignedPartition = { topic: string; partition: number; committed: number };

/**
 * The partitions this sink owns: a buffer each, and the last offset this process published for each.
 * Where a partition resumes is decided here: after its committed offset, or after the highest offset the
 * lake already holds, or after what this process published, whichever is furthest.
 */
export class SinkPartitions {
  readonly buffers = new Map<string, PartitionBuffer>();
  /** Last offset this process published per topic/partition: never buffered again, whatever Kafka redelivers. */
  private readonly published = new Map<string, number>();

  constructor(
    private readonly lake: Lake,
    private readonly log: Log,
    /** Lake offset = bus offset + base (the lake's bus epoch); kept in lake offsets here, the bus's on seeks and commits. */
    private readonly base: Readonly<Record<string, number>> = {},
  ) {}

  /** The lake is the sink's source of truth: skip what a previous run wrote but did not commit. */
  async assign(parts: AssignedPartition[]): Promise<OffsetCommit[]> {
    const written = await highestWrittenOffsets(this.lake);
    const seeks: OffsetCommit[] = [];
    for (const p of parts) {
      const key = partitionKey(p.topic, p.partition);
      const base = this.base[key] ?? 0;
      const committed = p.committed + base;
      const done = Math.max(written.get(key) ?? -1, this.published.get(key) ?? -1);
      const from = done >= 0 && done + 1 > committed ? done + 1 : committed;
      // Records fetched before the seek takes effect are dropped by offset.
      const b = new PartitionBuffer(p.topic, p.partition, from, base);
      if (from > committed) {
        seeks.push({ topic: p.topic, partition: p.partition, offset: from - base });
        // The lake holds the range: its commit, refused or never made by the partition's last owner (this
        // member's predecessor when the bus replaced it), is this owner's to make (by the next flush), not
        // left until the partition's next file.
        b.uncommitted = from;
      }
      this.buffers.set(key, b);
    }
    if (seeks.length > 0) this.log.info(`sink: resuming ${seeks.length} partition(s) after offsets already in the lake`);
    return seeks;
  }

  /** Partitions given to another member: their unwritten records are left to it. */
  lose(parts: Array<{ topic: string; partition: number }>): void {
    for (const p of parts) this.buffers.delete(partitionKey(p.topic, p.partition));
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
    return Math.max(b.next, (this.published.get(b.key) ?? -1) + 1);
  }

  markPublished(b: PartitionBuffer, lastOffset: number): void {
    this.published.set(b.key, lastOffset);
  }
}

/** Highest offset per topic/partition that the lake already holds. */
export async function highestWrittenOffsets(lake: Lake): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const dir of Object.values(LAKE_DIRS)) {
    for (const f of await lake.list(`${dir}/`)) {
      const n = parseLakePath(f.path);
      if (!n) continue;
      const k = partitionKey(n.topic, n.partition);
      if ((out.get(k) ?? -1) < n.lastOffset) out.set(k, n.lastOffset);
    }
  }
  return out;
}
