import { decodeDeploymentOrder } from "../../src/domain/deployment-order.ts";
import { RecentIds } from "../../src/domain/recent-ids.ts";
import { TOPICS, type Bus } from "../../src/ports/bus.ts";

/**
 * Alert ids already published, seeded from the tail of `alerts` (the last `capacity` orders across
 * partitions), so a report resent after a restart still sends no second patrol.
 */
export async function recentAlertsFromBus(bus: Bus, capacity: number): Promise<RecentIds> {
  const recent = new RecentIds(capacity);
  const end = await bus.endOffsets(TOPICS.alerts);
  if (end.every((e) => e === 0)) return recent;
  const per = Math.ceil(capacity / end.length);
  const next = end.map((e) => Math.max(0, e - per));
  const caughtUp = () => next.every((n, p) => n >= end[p]!);
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const group = `acu-alert-seed-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const consumer = await bus.consume(
    {
      group,
      topics: [TOPICS.alerts],
      commit: "manual",
      onAssign: async (parts) => parts.map((p) => ({ topic: p.topic, partition: p.partition, offset: next[p.partition]! })),
      // On Kafka a partition ends with a transaction marker, which no record reports: without this the
      // seed would wait for a new order on every partition (forever, on a quiet exam).
      onPosition: (_topic, partition, n) => {
        if (n > next[partition]!) next[partition] = n;
        if (caughtUp()) resolve();
      },
    },
    async (batch) => {
      for (const r of batch.records) {
        try {
          recent.add(decodeDeploymentOrder(r.value).alertId);
        } catch {}
        next[r.partition] = r.offset + 1;
      }
      if (caughtUp()) resolve();
    },
  );
  if (caughtUp()) resolve();
  await done;
  await consumer.stop();
  return recent;
}
