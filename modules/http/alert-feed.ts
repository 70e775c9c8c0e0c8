import { decodeDeploymentOrder, type DeploymentOrder } from "../../src/domain/deployment-order.ts";
import { TOPICS, type Bus, type BusRecord } from "../../src/ports/bus.ts";
import { TopicReader } from "../../src/ports/topic-reader.ts";
import { trackLag } from "../../src/metrics.ts";
import type { Log } from "../lifecycle.ts";

/** acu_consumer_lag's group label of the feed (its bus group is one per process, random). */
export const FEED_LAG_GROUP = "acu-http-feed";
/** Each http process reads `alerts` in a group of its own, named with this prefix. */
export const FEED_GROUP_PREFIX = "acu-http-";

/** A deployment order as the feed delivers it, with its bus position. */
export interface FeedItem {
  order: DeploymentOrder;
  partition: number;
  offset: number;
  /** Resume point after this item: next offset per partition of `alerts`. */
  cursor: string;
}

/**
 * Recent deployment orders for the API and the live stream. It reads `alerts` from the start in a group of
 * its own (no commits: every instance keeps its own view) and keeps the newest `capacity` orders. A
 * cursor is the next offset of every partition, so any instance can resume any client without gaps.
 */
export class AlertFeed {
  private items: FeedItem[] = [];
  private readonly seen = new Set<string>();
  private readonly listeners = new Set<(item: FeedItem) => void>();
  private readonly reader: TopicReader;
  private stopLag: (() => void) | null = null;

  constructor(
    private readonly bus: Bus,
    private readonly capacity: number,
    private readonly log: Log,
  ) {
    const group = `${FEED_GROUP_PREFIX}${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
    this.reader = new TopicReader(bus, { topic: TOPICS.alerts, group, maxBatch: 5000 }, (r) => this.onRecord(r));
  }

  /** Next offset per partition of `alerts`, past everything read. */
  private get next(): number[] {
    return this.reader.next;
  }

  async start(): Promise<void> {
    await this.reader.start();
    this.stopLag = trackLag(FEED_LAG_GROUP, () => this.lag());
  }

  /** Orders on the bus the feed has not read yet. */
  async lag(): Promise<number> {
    const end = await this.bus.endOffsets(TOPICS.alerts);
    return end.reduce((sum, e, p) => sum + Math.max(0, e - this.next[p]!), 0);
  }

  private onRecord(r: BusRecord): void {
    let order: DeploymentOrder;
    try {
      order = decodeDeploymentOrder(r.value);
    } catch (e) {
      this.log.warn(`feed: skipped malformed order at ${r.partition}@${r.offset}: ${(e as Error).message}`);
      return;
    }
    // Orders are keyed by alertId: a redelivered order is shown once.
    if (this.seen.has(order.alertId)) return;
    this.push({ order, partition: r.partition, offset: r.offset, cursor: this.next.join(".") });
  }

  /** Every order that was on `alerts` at start has been read (transaction markers counted as read). */
  get ready(): boolean {
    return this.reader.isCaughtUp;
  }

  recent(limit: number, exerciseId?: string): DeploymentOrder[] {
    const out: DeploymentOrder[] = [];
    for (let i = this.items.length - 1; i >= 0 && out.length < limit; i--) {
      const o = this.items[i]!.order;
      if (!exerciseId || o.exerciseId === exerciseId) out.push(o);
    }
    return out;
  }

  /** Items after a cursor, oldest first; `gap` is true when some were already evicted. */
  since(cursor: string | null): { items: FeedItem[]; gap: boolean } {
    if (cursor === null) return { items: [], gap: false };
    const from = parseCursor(cursor, this.next.length);
    if (!from) return { items: [], gap: true };
    const items = this.items.filter((it) => it.offset >= from[it.partition]!);
    // Evicted: the oldest item kept of a partition is beyond what the client had.
    const oldest = new Map<number, number>();
    for (const it of this.items) if (!oldest.has(it.partition)) oldest.set(it.partition, it.offset);
    let gap = false;
    for (let p = 0; p < this.next.length; p++) {
      const o = oldest.get(p);
      if (o !== undefined && from[p]! < o && this.items.length >= this.capacity) gap = true;
    }
    return { items, gap };
  }

  /** Current resume point (what a client that saw everything would hold). */
  cursor(): string {
    return this.next.join(".");
  }

  subscribe(f: (item: FeedItem) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  async stop(): Promise<void> {
    this.stopLag?.();
    await this.reader.stop();
  }

  private push(item: FeedItem): void {
    this.items.push(item);
    this.seen.add(item.order.alertId);
    if (this.items.length > this.capacity * 1.25) {
      const drop = this.items.splice(0, this.items.length - this.capacity);
      for (const d of drop) this.seen.delete(d.order.alertId);
    }
    for (const f of this.listeners) f(item);
  }
}

export function parseCursor(cursor: string, partitions: number): number[] | null {
  const parts = cursor.split(".");
  if (parts.length !== partitions) return null;
  const nums = parts.map(Number);
  return nums.every((n) => Number.isInteger(n) && n >= 0) ? nums : null;
}
