import { decodeDeploymentOrder } from "../../src/domain/deployment-order.ts";
import { TOPICS, type Bus } from "../../src/ports/bus.ts";

/**
 * Alert ids already published, newest `capacity` kept. A laptop that resends a report whose 202 was lost
 * puts the same report on the bus twice; this keeps the second copy from sending a second patrol.
 */
export class RecentAlerts {
  private readonly ids = new Set<string>();
  private readonly order: string[] = [];
  private head = 0;

  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    this.order.push(id);
    if (this.order.length - this.head > this.capacity) {
      this.ids.delete(this.order[this.head]!);
      this.head++;
      if (this.head > 65536) {
        this.order.splice(0, this.head);
        this.head = 0;
      }
    }
  }

  get size(): number {
    return this.ids.size;
  }

  /** Seeds from the tail of `alerts`: the last `capacity` orders across partitions. */
  static async fromBus(bus: Bus, capacity: number): Promise<RecentAlerts> {
    const recent = new RecentAlerts(capacity);
    const end = await bus.endOffsets(TOPICS.alerts);
    if (end.every((e) => e === 0)) return recent;
    const per = Math.ceil(capacity / end.length);
    const next = end.map((e) => Math.max(0, e - per));
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const group = `acu-alert-seed-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
    const consumer = await bus.consume(
      {
        group,
        topics: [TOPICS.alerts],
        commit: "manual",
        onAssign: async (parts) => parts.map((p) => ({ topic: p.topic, partition: p.partition, offset: next[p.partition]! })),
      },
      async (batch) => {
        for (const r of batch.records) {
          try {
            recent.add(decodeDeploymentOrder(r.value).alertId);
          } catch {}
          next[r.partition] = r.offset + 1;
        }
        if (next.every((n, p) => n >= end[p]!)) resolve();
      },
    );
    if (next.every((n, p) => n >= end[p]!)) resolve();
    await done;
    await consumer.stop();
    return recent;
  }
}
