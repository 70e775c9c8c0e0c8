import type { BusRecord } from "../../src/ports/bus.ts";

/** Records taken out of a buffer to be written as one lake file. */
export interface TakenRecords<Row> {
  records: BusRecord[];
  rows: Array<Row | null>;
  firstAt: number;
  bytes: number;
}

/** What one partition of a topic holds between two lake files, and where its offsets stand. */
export class PartitionBuffer<Row = unknown> {
  records: BusRecord[] = [];
  /**
   * Each record decoded as it arrives (null: malformed), in step with `records`: the decoding is done
   * while the sink waits for a file's age or size, not in one burst when the file is written.
   */
  rows: Array<Row | null> = [];
  firstAt = 0;
  /** Bytes of the buffered records (values and keys as fetched): what the sink's memory bound counts. */
  bytes = 0;
  /** Offset to commit for a file already published whose commit failed: retried before the next file. */
  uncommitted?: number;
  /** The failed commit last logged (logged once per offset, not on every retry). */
  uncommittedLogged?: number;

  constructor(
    readonly topic: string,
    readonly partition: number,
    /** Next offset expected (lake offsets): a batch redelivered after a failed flush is not buffered twice. */
    public next: number,
    /** Lake offset = bus offset + base (the lake's current bus epoch, src/domain/lake-binding.ts); 0 unless a bus was adopted. */
    readonly base = 0,
  ) {}

  get key(): string {
    return partitionKey(this.topic, this.partition);
  }

  /** Buffers the records (bus offsets) at or after `from` (a lake offset), decoding each; false when none was new. */
  append(records: BusRecord[], from: number, decode: (r: BusRecord) => Row | null): boolean {
    const base = this.base;
    const inLake = base === 0 ? records : records.map((r) => ({ ...r, offset: r.offset + base }));
    const fresh = inLake.filter((r) => r.offset >= from);
    if (fresh.length === 0) return false;
    if (this.records.length === 0) this.firstAt = Date.now();
    for (const r of fresh) {
      this.records.push(r);
      this.rows.push(decode(r));
      this.bytes += recordBytes(r);
    }
    this.next = fresh[fresh.length - 1]!.offset + 1;
    return true;
  }

  /** Empties the buffer for a file: records arriving during its write start the next one. */
  take(): TakenRecords<Row> {
    const taken = { records: this.records, rows: this.rows, firstAt: this.firstAt, bytes: this.bytes };
    this.records = [];
    this.rows = [];
    this.bytes = 0;
    this.firstAt = Date.now();
    return taken;
  }

  /**
   * Takes the records at or before `last` (the range of a chain link, modules/sink/chain.ts), leaving the
   * later ones buffered; all of them when `last` is past the buffer's end.
   */
  takeThrough(last: number): TakenRecords<Row> {
    const n = this.records.findIndex((r) => r.offset > last);
    if (n < 0) return this.take();
    const records = this.records.splice(0, n);
    const rows = this.rows.splice(0, n);
    let bytes = 0;
    for (const r of records) bytes += recordBytes(r);
    this.bytes -= bytes;
    return { records, rows, firstAt: this.firstAt, bytes };
  }

  /** A file not published: its records go back in front, written again with what came since. */
  restore(t: TakenRecords<Row>): void {
    this.records = t.records.concat(this.records);
    this.rows = t.rows.concat(this.rows);
    this.firstAt = t.firstAt;
    this.bytes += t.bytes;
  }
}

export function recordBytes(r: BusRecord): number {
  return r.value.byteLength + r.key.length;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}
