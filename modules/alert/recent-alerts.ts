import { alertIdFor, decodeDeploymentOrder } from "../../src/domain/deployment-order.ts";
import { RecentIds } from "../../src/domain/recent-ids.ts";
import { TOPICS, type Bus } from "../../src/ports/bus.ts";
import { readToEnd } from "../../src/ports/topic-reader.ts";

/**
 * Alert ids already published, seeded from the tail of `alerts` (the last `capacity` orders across
 * partitions), so a report resent after a restart still sends no second patrol. Each id is derived again
 * from the order's student and report ids: orders written before alert ids named the student count too.
 */
export async function recentAlertsFromBus(bus: Bus, capacity: number): Promise<RecentIds> {
  const recent = new RecentIds(capacity);
  const group = `acu-alert-seed-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const from = (end: readonly number[]) => end.map((e) => Math.max(0, e - Math.ceil(capacity / end.length)));
  await readToEnd(bus, { topic: TOPICS.alerts, group, from }, (r) => {
    try {
      const o = decodeDeploymentOrder(r.value);
      if (typeof o.studentId === "string") recent.add(alertIdFor(o.studentId, o.reportId));
    } catch {
      // Not an order (written by hand?): it names no alert id to remember.
    }
  });
  return recent;
}
