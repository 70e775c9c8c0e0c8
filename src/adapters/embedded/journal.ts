import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";

/**
 * An append-only, checksummed journal file: the embedded bus's durable storage.
 *
 * Every append is one frame `[u32 length][u32 crc32][payload]`; a frame is durable (fdatasync) before
 * its promise resolves, and a frame torn by a crash fails its checksum and is cut off at the next open.
 * One frame may carry several entries (messages and offset commits), which makes "publish these and
 * commit those" atomic. Appends that arrive while a write is under way share the next fsync (group commit).
 */
export type JournalEntry =
  | { kind: "message"; topic: string; partition: number; timestamp: number; key: string; value: Uint8Array }
  | { kind: "commit"; group: string; topic: string; partition: number; offset: number };

/** Where a message's value sits in the file, reported to the index once the frame is durable. */
export interface StoredMessage {
  topic: string;
  partition: number;
  timestamp: number;
  key: string;
  valuePos: number;
  valueLen: number;
}

export interface JournalVisitor {
  message(m: StoredMessage): void;
  commit(c: { group: string; topic: string; partition: number; offset: number }): void;
}

const HEADER = 8;
const MESSAGE = 1;
const COMMIT = 2;
const enc = new TextEncoder();
const dec = new TextDecoder();

interface Pending {
  entries: JournalEntry[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class Journal {
  private fd: number;
  private fh: FileHandle;
  private size: number;
  private queue: Pending[] = [];
  private writing: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly path: string,
    fd: number,
    size: number,
    private readonly visitor: JournalVisitor,
    fh: FileHandle,
  ) {
    this.fd = fd;
    this.fh = fh;
    this.size = size;
  }

  /** Opens (or creates) the journal, replays every intact frame into the visitor and cuts off a torn tail. */
  static async open(path: string, visitor: JournalVisitor): Promise<Journal> {
    const fd = openSync(path, "a+");
    const fileSize = fstatSync(fd).size;
    const good = replay(fd, fileSize, visitor);
    if (good < fileSize) {
      ftruncateSync(fd, good);
      fdatasyncSync(fd);
    }
    closeSync(fd);
    // Reopen without O_APPEND so positional writes land where the index says.
    return new Journal(path, openSync(path, "r"), good, visitor, await open(path, "r+"));
  }

  append(entries: JournalEntry[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error("the embedded log is closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ entries, resolve, reject });
      if (!this.writing) this.writing = this.drain();
    });
  }

  /** Reads `len` bytes at `pos` (values of durable messages). */
  read(pos: number, len: number): Uint8Array {
    const buf = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const n = readSync(this.fd, buf, done, len - done, pos + done);
      if (n === 0) throw new Error(`embedded log truncated at ${pos + done}`);
      done += n;
    }
    return buf;
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.writing) await this.writing;
    closeSync(this.fd);
    await this.fh.close();
  }

  get bytes(): number {
    return this.size;
  }

  private async drain(): Promise<void> {
    // Yield once so appends made in the same tick join this write.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const frames: Uint8Array[] = [];
      const stored: StoredMessage[][] = [];
      let pos = this.size;
      for (const p of batch) {
        const { frame, messages } = encodeFrame(p.entries, pos);
        frames.push(frame);
        stored.push(messages);
        pos += frame.length;
      }
      try {
        const all = concat(frames);
        let off = 0;
        // Async I/O: the event loop keeps taking requests during the fsync, and they form the next group.
        while (off < all.length) off += (await this.fh.write(all, off, all.length - off, this.size + off)).bytesWritten;
        await this.fh.datasync();
      } catch (e) {
        // Nothing of this batch is acknowledged; cut the file back so the next frame starts clean.
        try {
          await this.fh.truncate(this.size);
        } catch {}
        for (const p of batch) p.reject(e);
        continue;
      }
      this.size = pos;
      batch.forEach((p, i) => {
        // Same order as a replay would see them.
        let m = 0;
        for (const e of p.entries) {
          if (e.kind === "commit") this.visitor.commit(e);
          else this.visitor.message(stored[i]![m++]!);
        }
        p.resolve();
      });
      if (this.queue.length > 0) await Promise.resolve();
    }
    this.writing = null;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function encodeFrame(entries: JournalEntry[], framePos: number): { frame: Uint8Array; messages: StoredMessage[] } {
  const encoded = entries.map((e) =>
    e.kind === "message"
      ? { e, topic: enc.encode(e.topic), key: enc.encode(e.key) }
      : { e, topic: enc.encode(e.topic), group: enc.encode(e.group) },
  );
  let len = 0;
  for (const x of encoded) {
    if (x.e.kind === "message") len += 1 + 1 + x.topic.length + 2 + 8 + 2 + (x as { key: Uint8Array }).key.length + 4 + x.e.value.length;
    else len += 1 + 1 + (x as { group: Uint8Array }).group.length + 1 + x.topic.length + 2 + 8;
  }
  const frame = new Uint8Array(HEADER + len);
  const view = new DataView(frame.buffer);
  const messages: StoredMessage[] = [];
  let o = HEADER;
  for (const x of encoded) {
    const e = x.e;
    if (e.kind === "message") {
      const key = (x as { key: Uint8Array }).key;
      if (x.topic.length > 255 || key.length > 65535) throw new Error("topic or key too long for the embedded log");
      frame[o++] = MESSAGE;
      frame[o++] = x.topic.length;
      frame.set(x.topic, o);
      o += x.topic.length;
      view.setUint16(o, e.partition, true);
      o += 2;
      view.setFloat64(o, e.timestamp, true);
      o += 8;
      view.setUint16(o, key.length, true);
      o += 2;
      frame.set(key, o);
      o += key.length;
      view.setUint32(o, e.value.length, true);
      o += 4;
      frame.set(e.value, o);
      messages.push({ topic: e.topic, partition: e.partition, timestamp: e.timestamp, key: e.key, valuePos: framePos + o, valueLen: e.value.length });
      o += e.value.length;
    } else {
      const group = (x as { group: Uint8Array }).group;
      frame[o++] = COMMIT;
      frame[o++] = group.length;
      frame.set(group, o);
      o += group.length;
      frame[o++] = x.topic.length;
      frame.set(x.topic, o);
      o += x.topic.length;
      view.setUint16(o, e.partition, true);
      o += 2;
      view.setFloat64(o, e.offset, true);
      o += 8;
    }
  }
  view.setUint32(0, len, true);
  view.setUint32(4, Bun.hash.crc32(frame.subarray(HEADER)) >>> 0, true);
  return { frame, messages };
}

const CHUNK = 8 * 1024 * 1024;

/** Replays intact frames; returns the byte length of the intact prefix. */
function replay(fd: number, fileSize: number, visitor: JournalVisitor): number {
  let pos = 0;
  let buf = new Uint8Array(0);
  let bufStart = 0; // file position of buf[0]
  const ensure = (from: number, len: number): boolean => {
    if (from + len > fileSize) return false;
    if (from >= bufStart && from + len <= bufStart + buf.length) return true;
    const want = Math.max(len, CHUNK);
    const n = Math.min(want, fileSize - from);
    buf = new Uint8Array(n);
    let done = 0;
    while (done < n) done += readSync(fd, buf, done, n - done, from + done);
    bufStart = from;
    return true;
  };
  while (ensure(pos, HEADER)) {
    let view = new DataView(buf.buffer, buf.byteOffset);
    const len = view.getUint32(pos - bufStart, true);
    const crc = view.getUint32(pos - bufStart + 4, true);
    if (len === 0 || !ensure(pos, HEADER + len)) break;
    view = new DataView(buf.buffer, buf.byteOffset);
    const start = pos - bufStart + HEADER;
    const payload = buf.subarray(start, start + len);
    if ((Bun.hash.crc32(payload) >>> 0) !== crc) break;
    let o = 0;
    const pv = new DataView(payload.buffer, payload.byteOffset, payload.length);
    const framePos = pos + HEADER;
    while (o < len) {
      const kind = payload[o++];
      if (kind === MESSAGE) {
        const tl = payload[o++]!;
        const topic = dec.decode(payload.subarray(o, o + tl));
        o += tl;
        const partition = pv.getUint16(o, true);
        o += 2;
        const timestamp = pv.getFloat64(o, true);
        o += 8;
        const kl = pv.getUint16(o, true);
        o += 2;
        const key = dec.decode(payload.subarray(o, o + kl));
        o += kl;
        const vl = pv.getUint32(o, true);
        o += 4;
        visitor.message({ topic, partition, timestamp, key, valuePos: framePos + o, valueLen: vl });
        o += vl;
      } else if (kind === COMMIT) {
        const gl = payload[o++]!;
        const group = dec.decode(payload.subarray(o, o + gl));
        o += gl;
        const tl = payload[o++]!;
        const topic = dec.decode(payload.subarray(o, o + tl));
        o += tl;
        const partition = pv.getUint16(o, true);
        o += 2;
        const offset = pv.getFloat64(o, true);
        o += 8;
        visitor.commit({ group, topic, partition, offset });
      } else {
        throw new Error(`embedded log: unknown entry kind ${kind} at ${framePos + o - 1}`);
      }
    }
    pos += HEADER + len;
  }
  return pos;
}
