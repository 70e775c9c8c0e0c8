import type { Bus, BusRecord, Consumer } from "./bus.ts";

export interface TopicReadOptions {
  topic: string;
  /** A group of the reader's own: nothing is committed, it only names the reader to the bus. */
  group: string;
  /** Where to begin on each partition, given the end offsets when reading begins; default the start. */
  from?: (end: readonly number[]) => number[];
  maxBatch?: number;
}

/**
 * Reads one topic, without committing, from given offsets on, and tells when it has read everything that
 * was on the topic when it began (its end offsets then): the alert seed stops there, the live feed says it
 * is ready and goes on. On Kafka a partition may end with a transaction marker, an offset that holds no
 * record: positions count it as read (`onPosition`), or a reader would wait for a new record on every
 * partition (forever, on a quiet exam).
 */
export class TopicReader {
  /** Next offset per partition: past every record handed, and every offset that holds none. */
  readonly next: number[];
  /** Resolves once every partition is read up to the end offsets taken at start. */
  readonly caughtUp: Promise<void>;
  private reached!: () => void;
  private reachedAlready = false;
  private end: number[] | null = null;
  private consumer: Consumer | null = null;

  constructor(
    private readonly bus: Bus,
    private readonly options: TopicReadOptions,
    /** Called for each record in offset order per partition, after `next` has moved past it. */
    private readonly onRecord: (record: BusRecord) => void,
  ) {
    this.next = new Array<number>(bus.partitions(options.topic)).fill(0);
    this.caughtUp = new Promise<void>((r) => (this.reached = r));
  }

  get isCaughtUp(): boolean {
    return this.reachedAlready;
  }

  /** Takes the end offsets and begins reading; `follow: false` starts no consumer when nothing is to be read. */
  async start(follow = true): Promise<void> {
    const end = await this.bus.endOffsets(this.options.topic);
    const from = this.options.from?.(end) ?? end.map(() => 0);
    for (const [p, n] of from.entries()) this.next[p] = n;
    this.end = end;
    this.check();
    if (!follow && this.reachedAlready) return;
    const { topic, group, maxBatch } = this.options;
    this.consumer = await this.bus.consume(
      {
        group,
        topics: [topic],
        commit: "manual",
        start: "earliest",
        maxBatch,
        // Each time partitions are given (again, after a consumer was replaced): on from where this reader is.
        onAssign: async (parts) => parts.map((p) => ({ topic, partition: p.partition, offset: this.next[p.partition]! })),
        onPosition: (_topic, partition, n) => {
          if (n > this.next[partition]!) this.next[partition] = n;
          this.check();
        },
      },
      async (batch) => {
        for (const r of batch.records) {
          this.next[r.partition] = r.offset + 1;
          this.onRecord(r);
        }
        this.check();
      },
    );
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }

  private check(): void {
    const end = this.end;
    if (this.reachedAlready || !end || !this.next.every((n, p) => n >= end[p]!)) return;
    this.reachedAlready = true;
    this.reached();
  }
}

/** Reads `options.topic` from `from` up to its end offsets when called, then stops. */
export async function readToEnd(bus: Bus, options: TopicReadOptions, onRecord: (record: BusRecord) => void): Promise<void> {
  const reader = new TopicReader(bus, options, onRecord);
  await reader.start(false);
  await reader.caughtUp;
  await reader.stop();
}
