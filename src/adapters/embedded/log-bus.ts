import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { silentLogger, type Logger } from "../../log.ts";
import {
  partitionFor,
  rawTopicName,
  HandlerBackpressure,
  REDELIVERY_BACKOFF,
  type Bus,
  type BusIdentity,
  type BusRecord,
  type Consumer,
  type ConsumerOptions,
  type OffsetCommit,
  type OutgoingMessage,
  type RecordBatch,
} from "../../ports/bus.ts";
import { OpenConsumers } from "../open-consumers.ts";
import { replaceFile } from "./atomic-file.ts";
import { Journal, type JournalEntry, type StoredMessage } from "./journal.ts";
import { embeddedBusId } from "./bus-id.ts";
import { ProcessLock } from "./process-lock.ts";
import { backoffDelay, sleep } from "../../retry.ts";

/** Per topic-partition index of durable messages; values stay on disk. */
class PartitionIndex {
  pos: number[] = [];
  len: number[] = [];
  ts: number[] = [];
  keys: string[] = [];
  get end(): number {
    return this.pos.length;
  }
}

const enc = new TextEncoder();
const MAX_GAP = 64 * 1024;
const MAX_SPAN = 8 * 1024 * 1024;

/**
 * The bus embedded in the process: Kafka's model (partitions, offsets, groups, commits) over one journal
 * file. Single-process by design: a lock keeps a second process from opening the same log.
 */
export class EmbeddedLogBus implements Bus {
  readonly engine = "embedded";
  private readonly index = new Map<string, PartitionIndex[]>();
  private readonly committed = new Map<string, number>(); // `${group}\0${topic}\0${p}` → next offset
  private readonly groups = new Set<string>();
  private waiters: Array<() => void> = [];
  private closed = false;
  private journal!: Journal;
  /** The log's folder (its id lives there: bus-id.ts). */
  private dir = "";
  private readonly consumers = new OpenConsumers();

  private constructor(
    private readonly topics: Record<string, number>,
    private readonly lock: ProcessLock,
    readonly log: Logger,
  ) {
    for (const [t, n] of Object.entries(topics))
      this.index.set(
        t,
        Array.from({ length: n }, () => new PartitionIndex()),
      );
  }

  /** Opens the log in `dir`. Partition counts are fixed at creation (a key must keep its partition). */
  static async open(dir: string, partitions: Record<string, number>, log: Logger = silentLogger): Promise<EmbeddedLogBus> {
    mkdirSync(dir, { recursive: true });
    const lock = ProcessLock.acquire(join(dir, "LOCK"), "the embedded log");
    try {
      const topics = keepLayout(join(dir, "topics.json"), partitions);
      const bus = new EmbeddedLogBus(topics, lock, log);
      bus.dir = dir;
      bus.journal = await Journal.open(join(dir, "journal.log"), {
        message: (m) => bus.onMessage(m),
        commit: (c) => bus.committed.set(ckey(c.group, c.topic, c.partition), c.offset),
      });
      return bus;
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  partitions(topic: string): number {
    return this.parts(topic).length;
  }

  async endOffsets(topic: string): Promise<number[]> {
    return this.parts(topic).map((p) => p.end);
  }

  topicName(topic: string): string {
    return topic;
  }

  async identity(topics: string[]): Promise<BusIdentity> {
    return { engine: this.engine, cluster: embeddedBusId(this.dir), topics: Object.fromEntries(topics.map((t) => [t, t])) };
  }

  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.journal.append(this.toEntries(topic, messages));
  }

  /** Committed offset of a group, or undefined. */
  committedOffset(group: string, topic: string, partition: number): number | undefined {
    return this.committed.get(ckey(group, topic, partition));
  }

  async consume(options: ConsumerOptions, handle: (batch: RecordBatch, consumer: Consumer) => Promise<void>): Promise<Consumer> {
    if (this.groups.has(options.group)) throw new Error(`consumer group "${options.group}" already has a member in this process`);
    const raw = options.topics.map(rawTopicName).filter((t) => t !== null);
    if (raw.length > 0) throw new Error(`the embedded log has no external producers' topics (${raw.join(", ")}): raw topics need Kafka (ACU_KAFKA_BROKERS)`);
    for (const t of options.topics) this.parts(t);
    this.groups.add(options.group);
    return this.consumers.start(
      (stopped) =>
        new EmbeddedConsumer(this, options, handle, () => {
          this.groups.delete(options.group);
          stopped();
        }),
    );
  }

  ping(): Promise<void> {
    return this.journal.ping();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.consumers.stopAll();
    await this.journal.close();
    this.lock.release();
    this.wake();
  }

  // ---- used by consumers ----

  /** Reads up to `max` records from `offset`, coalescing adjacent values into one read. */
  read(topic: string, partition: number, offset: number, max: number): BusRecord[] {
    const p = this.parts(topic)[partition]!;
    const end = Math.min(p.end, offset + max);
    const out: BusRecord[] = [];
    let i = offset;
    while (i < end) {
      // Values close together on disk (one publish interleaves partitions) are fetched with one read.
      let j = i + 1;
      while (j < end && p.pos[j]! - (p.pos[j - 1]! + p.len[j - 1]!) <= MAX_GAP && p.pos[j]! + p.len[j]! - p.pos[i]! <= MAX_SPAN) j++;
      const from = p.pos[i]!;
      const to = p.pos[j - 1]! + p.len[j - 1]!;
      const bytes = this.journal.read(from, to - from);
      for (let k = i; k < j; k++) {
        out.push({ topic, partition, offset: k, key: p.keys[k]!, timestamp: p.ts[k]!, value: bytes.subarray(p.pos[k]! - from, p.pos[k]! - from + p.len[k]!) });
      }
      i = j;
    }
    return out;
  }

  commitEntries(group: string, offsets: OffsetCommit[]): JournalEntry[] {
    return offsets.map((o) => ({ kind: "commit", group, topic: o.topic, partition: o.partition, offset: o.offset }));
  }

  append(entries: JournalEntry[]): Promise<void> {
    return this.journal.append(entries);
  }

  toEntries(topic: string, messages: OutgoingMessage[]): JournalEntry[] {
    const n = this.partitions(topic);
    const now = Date.now();
    return messages.map((m) => ({
      kind: "message",
      topic,
      partition: partitionFor(m.key, n),
      timestamp: now,
      key: m.key,
      value: typeof m.value === "string" ? enc.encode(m.value) : m.value,
    }));
  }

  end(topic: string, partition: number): number {
    return this.parts(topic)[partition]!.end;
  }

  /** Resolves when new messages are durable (or after `ms`). */
  waitForData(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private onMessage(m: StoredMessage): void {
    const p = this.index.get(m.topic)?.[m.partition];
    if (!p) return; // a topic dropped from the layout: keep the bytes, ignore them
    p.pos.push(m.valuePos);
    p.len.push(m.valueLen);
    p.ts.push(m.timestamp);
    p.keys.push(m.key);
    if (this.waiters.length > 0) queueMicrotask(() => this.wake());
  }

  private parts(topic: string): PartitionIndex[] {
    const p = this.index.get(topic);
    if (!p) throw new Error(`unknown topic "${topic}"`);
    return p;
  }
}

const Layout = z.record(z.string(), z.number().int().min(1).max(65535));

/**
 * The partition counts in `topics.json`, with topics it lacks added. The file is replaced whole (temporary
 * file, fsync, rename, fsync of the folder), so a crash leaves the old layout or the new one, never a mix.
 */
function keepLayout(file: string, partitions: Record<string, number>): Record<string, number> {
  const raw = existsSync(file) ? readFileSync(file, "utf8") : null;
  let stored: Record<string, number> = {};
  if (raw !== null) {
    const parsed = Layout.safeParse(parseJson(raw));
    if (!parsed.success)
      throw new Error(`embedded log: ${file} is not a topic layout (${raw.length} bytes; topic name → partition count expected); restore it from a backup`);
    stored = parsed.data;
  }
  const topics = { ...partitions, ...stored };
  const text = JSON.stringify(topics);
  if (text !== raw) replaceFile(file, text);
  return topics;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function ckey(group: string, topic: string, partition: number): string {
  return `${group}\u0000${topic}\u0000${partition}`;
}

class EmbeddedConsumer implements Consumer {
  private readonly positions = new Map<string, number>(); // `${topic}\0${p}` → next offset to read
  private running = true;
  /** Aborted by stop(): ends the pause before a failed batch is handed again. */
  private readonly halted = new AbortController();
  private loop: Promise<void> | null = null;
  private readonly assigned: Array<{ topic: string; partition: number }> = [];

  constructor(
    private readonly bus: EmbeddedLogBus,
    private readonly options: ConsumerOptions,
    private readonly handle: (batch: RecordBatch, consumer: Consumer) => Promise<void>,
    private readonly onStopped: () => void,
  ) {}

  async start(): Promise<void> {
    const assignment: Array<{ topic: string; partition: number; committed: number }> = [];
    for (const topic of this.options.topics) {
      for (let p = 0; p < this.bus.partitions(topic); p++) {
        const c = this.bus.committedOffset(this.options.group, topic, p);
        const start = c ?? (this.options.start === "latest" ? this.bus.end(topic, p) : 0);
        this.positions.set(`${topic}\u0000${p}`, start);
        this.assigned.push({ topic, partition: p });
        assignment.push({ topic, partition: p, committed: start });
      }
    }
    const seeks = (await this.options.onAssign?.(assignment)) ?? [];
    for (const s of seeks) this.positions.set(`${s.topic}\u0000${s.partition}`, s.offset);
    this.loop = this.run();
  }

  async commit(offsets: OffsetCommit[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.bus.append(this.bus.commitEntries(this.options.group, offsets));
  }

  async commitWith(publish: Array<{ topic: string; messages: OutgoingMessage[] }>, offsets: OffsetCommit[]): Promise<void> {
    const entries = publish.flatMap((p) => this.bus.toEntries(p.topic, p.messages));
    entries.push(...this.bus.commitEntries(this.options.group, offsets));
    if (entries.length > 0) await this.bus.append(entries);
  }

  async lag(): Promise<number> {
    let lag = 0;
    for (const a of this.assigned) {
      const c = this.bus.committedOffset(this.options.group, a.topic, a.partition) ?? 0;
      lag += Math.max(0, this.bus.end(a.topic, a.partition) - c);
    }
    return lag;
  }

  async stop(): Promise<void> {
    if (!this.running) return this.loop ?? undefined;
    this.running = false;
    this.halted.abort();
    await this.loop;
    await this.options.onRevoke?.(this.assigned);
    this.onStopped();
  }

  private async run(): Promise<void> {
    const max = this.options.maxBatch ?? 2000;
    let failures = 0;
    while (this.running) {
      let worked = false;
      for (const { topic, partition } of this.assigned) {
        if (!this.running) break;
        const key = `${topic}\u0000${partition}`;
        const from = this.positions.get(key)!;
        if (from >= this.bus.end(topic, partition)) continue;
        const records = this.bus.read(topic, partition, from, max);
        const next = records[records.length - 1]!.offset + 1;
        try {
          await this.handle({ topic, partition, records }, this);
          if (this.options.commit === "auto") await this.commit([{ topic, partition, offset: next }]);
          this.positions.set(key, next);
          failures = 0;
          worked = true;
        } catch (e) {
          // At-least-once: never skip a batch; retry it after a pause.
          failures++;
          this.bus.log[e instanceof HandlerBackpressure ? "debug" : "warn"](
            `bus: group ${this.options.group} ${topic}/${partition}@${from}: ${(e as Error).message}; retrying`,
          );
          await sleep(backoffDelay(REDELIVERY_BACKOFF, failures), this.halted.signal);
        }
      }
      if (!worked && this.running) await this.bus.waitForData(200);
    }
  }
}
