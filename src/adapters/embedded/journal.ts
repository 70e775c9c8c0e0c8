import { closeSync, copyFileSync, existsSync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, renameSync, statSync } from "node:fs";
import { open, stat, statfs, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { Coalescer } from "../../coalescer.ts";

/**
 * An append-only, checksummed journal file: the embedded bus's durable storage.
 *
 * The file is a run of frames `[u32 length][u32 crc32][payload]`, each payload a list of entries
 * (messages and offset commits). Appends that arrive while a write is under way share the next write:
 * one frame, one fdatasync, before any of their promises resolves (group commit). An append is in one
 * frame, which makes "publish these and commit those" atomic. A frame torn by a crash fails its checksum
 * and is cut off at the next open; a damaged frame followed by intact ones stops the open instead.
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
  /** The size of the last write, when it failed with ENOSPC and none as large has succeeded since (see ping). */
  private noSpaceFor: number | null = null;

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

  /**
   * Opens (or creates) the journal and replays every intact frame into the visitor. A torn tail (the
   * frame a crash cut short, with nothing intact after it) is cut off; a damaged frame with intact frames
   * after it held acknowledged data, so the file is copied aside and left as it is, and the open fails.
   */
  static async open(path: string, visitor: JournalVisitor): Promise<Journal> {
    const fd = openSync(path, "a+");
    let good: number;
    try {
      const win = new FileWindow(fd, fstatSync(fd).size);
      good = replay(win, visitor, path);
      if (good < win.size) {
        const next = nextValidFrame(win, good);
        if (next >= 0) throw new JournalDamagedError(path, good, next, copyAside(path, good, win.size));
        ftruncateSync(fd, good);
        fdatasyncSync(fd);
      }
    } finally {
      closeSync(fd);
    }
    // Reopen without O_APPEND so positional writes land where the index says.
    return new Journal(path, openSync(path, "r"), good, visitor, await open(path, "r+"));
  }

  append(entries: JournalEntry[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error("the embedded log is closed"));
    // Refused here, a name the format cannot hold fails its own append only, not the batch it would share.
    if (!namesFit(entries)) {
      return Promise.reject(new Error("embedded log: topic and group names are 1 to 255 printable ASCII characters, keys at most 65535 bytes"));
    }
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

  /**
   * Open, and its file still where it was opened (a data dir removed or unmounted under the process fails).
   * After a write failed for want of space, and until one as large succeeds, also that its device has room
   * for that write again: readiness says the disk is full, and turns back by itself once space is freed.
   */
  async ping(): Promise<void> {
    if (this.closed) throw new Error("the embedded log is closed");
    await stat(this.path);
    const needed = this.noSpaceFor;
    if (needed === null) return;
    const fs = await statfs(dirname(this.path));
    const free = fs.bavail * fs.bsize;
    if (free < needed) {
      throw new Error(
        `no space left on the data dir's device (${free} bytes free; a write of ${needed} bytes failed with ENOSPC): free some, and writes resume`,
      );
    }
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

  /**
   * One frame for the whole batch, written and fsynced: a crash mid-write tears that one frame only, so
   * an intact frame after a damaged one is never the trace of a crash (see open). The index learns of
   * the messages once they are durable.
   */
  private async write(batch: JournalEntry[][]): Promise<void> {
    const { frame: all, messages } = encodeFrame(batch.flat(), this.size);
    const pos = this.size + all.length;
    try {
      let off = 0;
      // Async I/O: the event loop keeps taking requests during the fsync, and they form the next group.
      while (off < all.length) off += (await this.fh.write(all, off, all.length - off, this.size + off)).bytesWritten;
      await this.fh.datasync();
    } catch (e) {
      // Nothing of this batch is acknowledged; cut the file back so the next frame starts clean.
      try {
        await this.fh.truncate(this.size);
      } catch {}
      if ((e as NodeJS.ErrnoException).code === "ENOSPC") this.noSpaceFor = all.length;
      throw e;
    }
    // A smaller write (an offset commit) may fit in the last page of a full disk: that proves no room.
    if (this.noSpaceFor !== null && all.length >= this.noSpaceFor) this.noSpaceFor = null;
    this.size = pos;
    // Same order as a replay would see them.
    let m = 0;
    for (const entries of batch) {
      for (const e of entries) {
        if (e.kind === "commit") this.visitor.commit(e);
        else this.visitor.message(messages[m++]!);
      }
    }
  }
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

/** Topic and group names are 1 to 255 printable ASCII characters, which a scan for frames relies on. */
const NAME = /^[\x21-\x7e]{1,255}$/;

function namesFit(entries: JournalEntry[]): boolean {
  return entries.every((e) => NAME.test(e.topic) && (e.kind === "message" ? Buffer.byteLength(e.key) <= 65535 : NAME.test(e.group)));
}

function encodeFrame(entries: JournalEntry[], framePos: number): { frame: Uint8Array; messages: StoredMessage[] } {
  const encoded = entries.map((e) => ({ e, topic: enc.encode(e.topic), name: enc.encode(e.kind === "message" ? e.key : e.group) }));
  let len = 0;
  for (const { e, topic, name } of encoded) {
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

/** The journal is damaged before its end: acknowledged frames follow the damage. */
export class JournalDamagedError extends Error {
  override name = "JournalDamagedError";
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly nextFrame: number,
    readonly copy: string,
  ) {
    super(
      `embedded log: ${path} is damaged at byte ${offset}, and intact frames follow (the first at byte ${nextFrame}): ` +
        `they were acknowledged, so the file is left as it is and will not be cut. A copy is at ${copy}. ` +
        `Restore the data dir from a backup, or cut the journal at the damage (truncate -s ${offset} ${path}), ` +
        `dropping every frame from there on; see "The journal refuses to open" in docs/operations.md.`,
    );
  }
}

/**
 * Copies the damaged journal beside it (`<file>.corrupt-at-<offset>`) before acu refuses to start; a
 * copy of the same damage made by an earlier start (a restart loop) is kept, not made again.
 */
function copyAside(path: string, offset: number, size: number): string {
  let copy = `${path}.corrupt-at-${offset}`;
  if (existsSync(copy)) {
    if (statSync(copy).size === size) return copy;
    copy = `${copy}-${Date.now()}`;
  }
  const tmp = `${copy}.tmp`;
  copyFileSync(path, tmp);
  const fd = openSync(tmp, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, copy);
  return copy;
}

/** A read-only view of the journal file, refilled in chunks as a replay or a scan moves on. */
class FileWindow {
  private buf = new Uint8Array(0);
  private start = 0; // file position of buf[0]
  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  /** The `len` bytes at `from`, or null if the file ends before. A refill reads into a new buffer: bytes handed out before stay as they were. */
  bytes(from: number, len: number): Uint8Array | null {
    if (from + len > this.size) return null;
    if (from < this.start || from + len > this.start + this.buf.length) {
      const n = Math.min(Math.max(len, CHUNK), this.size - from);
      this.buf = new Uint8Array(n);
      let done = 0;
      while (done < n) {
        const got = readSync(this.fd, this.buf, done, n - done, from + done);
        if (got === 0) throw new Error(`embedded log shrank under its reader at ${from + done}`);
        done += got;
      }
      this.start = from;
    }
    return this.buf.subarray(from - this.start, from - this.start + len);
  }
}

/** The payload of the intact frame at `pos` (length in bounds, checksum right), or null. */
function frameAt(win: FileWindow, pos: number): Uint8Array | null {
  const h = win.bytes(pos, HEADER);
  if (!h) return null;
  const view = new DataView(h.buffer, h.byteOffset, HEADER);
  const len = view.getUint32(0, true);
  const crc = view.getUint32(4, true);
  if (len === 0) return null;
  const frame = win.bytes(pos, HEADER + len);
  if (!frame) return null;
  const payload = frame.subarray(HEADER);
  return Bun.hash.crc32(payload) >>> 0 === crc ? payload : null;
}

/** Hands each entry of a payload to the visitor; throws if the payload is not a well-formed list of entries. */
function decodeFrame(payload: Uint8Array, framePos: number, visitor: JournalVisitor): void {
  const r = new FrameReader(payload);
  while (!r.done) {
    const kind = r.u8();
    if (kind === MESSAGE) {
      const topic = r.short();
      const partition = r.u16();
      const timestamp = r.f64();
      const key = r.text(r.u16());
      const valueLen = r.u32();
      if (r.pos + valueLen > payload.length) throw new Error(`embedded log: a value runs past its frame at ${framePos + r.pos}`);
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
  if (r.pos !== payload.length) throw new Error(`embedded log: an entry runs past its frame at ${framePos + payload.length}`);
}

/** Replays intact frames from the start; returns the byte length of the intact prefix. */
function replay(win: FileWindow, visitor: JournalVisitor, path: string): number {
  let pos = 0;
  for (let payload = frameAt(win, 0); payload; payload = frameAt(win, pos)) {
    try {
      decodeFrame(payload, pos + HEADER, visitor);
    } catch (e) {
      // Checksum right, content not: written by another format, not torn. Nothing is cut.
      throw new Error(`embedded log: ${path}: the frame at byte ${pos} is not one this version reads (${(e as Error).message})`, { cause: e });
    }
    pos += HEADER + payload.length;
  }
  return pos;
}

const IGNORE: JournalVisitor = { message() {}, commit() {} };
const ENTRY_KIND = (kind: number) => kind === MESSAGE || kind === COMMIT;

/**
 * Whether the frame of length `len` at `pos` looks like one before its checksum is computed: its first
 * entry has a known kind and a name (a message's topic, a commit's group) of printable ASCII.
 */
function plausibleFrame(win: FileWindow, pos: number, len: number): boolean {
  if (len === 0 || pos + HEADER + len > win.size) return false;
  const head = win.bytes(pos + HEADER, Math.min(len, 2 + 255))!;
  const n = head[1] ?? 0;
  if (!ENTRY_KIND(head[0]!) || n === 0 || 2 + n > head.length) return false;
  for (let k = 2; k < 2 + n; k++) if (head[k]! < 0x21 || head[k]! > 0x7e) return false;
  return true;
}

/** Whether an intact, well-formed frame starts at `pos` (a checksum alone could match by chance). */
function validFrameAt(win: FileWindow, pos: number): boolean {
  const h = win.bytes(pos, HEADER);
  if (!h || !plausibleFrame(win, pos, new DataView(h.buffer, h.byteOffset, HEADER).getUint32(0, true))) return false;
  const payload = frameAt(win, pos);
  if (!payload) return false;
  try {
    decodeFrame(payload, pos + HEADER, IGNORE);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first intact frame after the damaged one at `bad`, or -1. A frame whose payload was hit keeps its
 * length, so its successor is tried first; otherwise every later byte is a candidate start, screened by
 * its entry kind, length and first name before its checksum is computed (a zeroed or random tail is
 * passed over at memory speed).
 */
function nextValidFrame(win: FileWindow, bad: number): number {
  const h = win.bytes(bad, HEADER);
  const skip = h ? bad + HEADER + new DataView(h.buffer, h.byteOffset, HEADER).getUint32(0, true) : -1;
  if (skip > bad + HEADER && validFrameAt(win, skip)) return skip;
  for (let base = bad + 1; base + HEADER < win.size; base += CHUNK) {
    // Each chunk overlaps the next by a header, so a candidate's header is always whole in one of them.
    // A refill of the window (validFrameAt) leaves this chunk's bytes as they were.
    const chunk = win.bytes(base, Math.min(CHUNK + HEADER + 1, win.size - base))!;
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.length);
    for (let i = 0; i < CHUNK && i + HEADER + 1 <= chunk.length; i++) {
      if (!ENTRY_KIND(chunk[i + HEADER]!)) continue;
      const len = view.getUint32(i, true);
      if (len > 0 && base + i + HEADER + len <= win.size && validFrameAt(win, base + i)) return base + i;
    }
  }
  return -1;
}
