import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";
import { Coalescer } from "../../coalescer.ts";

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

export class Journal {
  private fd: number;
  private fh: FileHandle;
  private size: number;
  /** Appends made in the same tick, or while a write is under way, share the next write and fsync. */
  private readonly appends = new Coalescer<JournalEntry[]>((batch) => this.write(batch), { begin: "microtask" });
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
    return this.appends.add(entries);
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

  /** Open, and its file still where it was opened (a data dir removed or unmounted under the process fails). */
  async ping(): Promise<void> {
    if (this.closed) throw new Error("the embedded log is closed");
    await stat(this.path);
  }

  /** Idempotent: a second close (a test's, a shutdown racing a failure) does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.appends.idle();
    closeSync(this.fd);
    await this.fh.close();
  }

  get bytes(): number {
    return this.size;
  }

  /** One frame per append, written and fsynced together; the index learns of them once they are durable. */
  private async write(batch: JournalEntry[][]): Promise<void> {
    const frames: Uint8Array[] = [];
    const stored: StoredMessage[][] = [];
    let pos = this.size;
    for (const entries of batch) {
      const { frame, messages } = encodeFrame(entries, pos);
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
      throw e;
    }
    this.size = pos;
    batch.forEach((entries, i) => {
      // Same order as a replay would see them.
      let m = 0;
      for (const e of entries) {
        if (e.kind === "commit") this.visitor.commit(e);
        else this.visitor.message(stored[i]![m++]!);
      }
    });
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

/** Sequential little-endian writes into a frame. */
class FrameWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  pos = HEADER;
  constructor(len: number) {
    this.bytes = new Uint8Array(HEADER + len);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(v: number) {
    this.bytes[this.pos++] = v;
  }
  u16(v: number) {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }
  u32(v: number) {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  f64(v: number) {
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  raw(b: Uint8Array) {
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }
  /** A string of at most 255 bytes, length-prefixed. */
  short(b: Uint8Array) {
    this.u8(b.length);
    this.raw(b);
  }
  seal(): Uint8Array {
    this.view.setUint32(0, this.bytes.length - HEADER, true);
    this.view.setUint32(4, Bun.hash.crc32(this.bytes.subarray(HEADER)) >>> 0, true);
    return this.bytes;
  }
}

/** Sequential little-endian reads of a frame's payload. */
class FrameReader {
  private readonly view: DataView;
  pos = 0;
  constructor(private readonly payload: Uint8Array) {
    this.view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  }
  get done() {
    return this.pos >= this.payload.length;
  }
  u8() {
    return this.payload[this.pos++]!;
  }
  u16() {
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32() {
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f64() {
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  text(len: number) {
    const s = dec.decode(this.payload.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }
  short() {
    return this.text(this.u8());
  }
}

function encodeFrame(entries: JournalEntry[], framePos: number): { frame: Uint8Array; messages: StoredMessage[] } {
  const encoded = entries.map((e) => ({ e, topic: enc.encode(e.topic), name: enc.encode(e.kind === "message" ? e.key : e.group) }));
  let len = 0;
  for (const { e, topic, name } of encoded) {
    if (topic.length > 255 || name.length > (e.kind === "message" ? 65535 : 255)) throw new Error("topic, key or group name too long for the embedded log");
    len += e.kind === "message" ? 1 + 1 + topic.length + 2 + 8 + 2 + name.length + 4 + e.value.length : 1 + 1 + name.length + 1 + topic.length + 2 + 8;
  }
  const w = new FrameWriter(len);
  const messages: StoredMessage[] = [];
  for (const { e, topic, name } of encoded) {
    if (e.kind === "message") {
      w.u8(MESSAGE);
      w.short(topic);
      w.u16(e.partition);
      w.f64(e.timestamp);
      w.u16(name.length);
      w.raw(name);
      w.u32(e.value.length);
      messages.push({ topic: e.topic, partition: e.partition, timestamp: e.timestamp, key: e.key, valuePos: framePos + w.pos, valueLen: e.value.length });
      w.raw(e.value);
    } else {
      w.u8(COMMIT);
      w.short(name);
      w.short(topic);
      w.u16(e.partition);
      w.f64(e.offset);
    }
  }
  return { frame: w.seal(), messages };
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
    const header = new DataView(buf.buffer, buf.byteOffset + pos - bufStart, HEADER);
    const len = header.getUint32(0, true);
    const crc = header.getUint32(4, true);
    if (len === 0 || !ensure(pos, HEADER + len)) break;
    const start = pos - bufStart + HEADER;
    const payload = buf.subarray(start, start + len);
    if (Bun.hash.crc32(payload) >>> 0 !== crc) break;
    const r = new FrameReader(payload);
    const framePos = pos + HEADER;
    while (!r.done) {
      const kind = r.u8();
      if (kind === MESSAGE) {
        const topic = r.short();
        const partition = r.u16();
        const timestamp = r.f64();
        const key = r.text(r.u16());
        const valueLen = r.u32();
        visitor.message({ topic, partition, timestamp, key, valuePos: framePos + r.pos, valueLen });
        r.pos += valueLen;
      } else if (kind === COMMIT) {
        const group = r.short();
        const topic = r.short();
        const partition = r.u16();
        visitor.commit({ group, topic, partition, offset: r.f64() });
      } else {
        throw new Error(`embedded log: unknown entry kind ${kind} at ${framePos + r.pos - 1}`);
      }
    }
    pos += HEADER + len;
  }
  return pos;
}
