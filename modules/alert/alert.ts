import { encodeDeploymentOrder } from "../../src/domain/deployment-order.ts";
import { metrics, trackLag } from "../../src/metrics.ts";
import { TOPICS, type Bus } from "../../src/ports/bus.ts";
import type { ThresholdStore } from "../../src/ports/thresholds.ts";
import type { Log, Running } from "../lifecycle.ts";
import { DEFAULT_DEDUPE_IDS } from "../../src/domain/recent-ids.ts";
import { deadLetterMessages } from "../dead-letters.ts";
import { judgeBatch } from "./judge.ts";
import { recentAlertsFromBus } from "./recent-alerts.ts";

export const ALERT_GROUP = "acu-alert";

/**
 * The alert role: reads reports, publishes a deployment order for each score below its exercise's
 * threshold. The orders, the dead letters and the consumed offsets are committed together, so a crash
 * redelivers the batch and the retry publishes the same orders once.
 */
export async function startAlert(deps: { bus: Bus; thresholds: ThresholdStore; log: Log; recentCapacity?: number }): Promise<Running> {
  const { bus, thresholds, log } = deps;
  // The resend horizon: orders remembered (ACU_DEDUPE_IDS). A resend after it is the dispatch's to recognise.
  const recent = await recentAlertsFromBus(bus, deps.recentCapacity ?? DEFAULT_DEDUPE_IDS);
  /**
   * Alert ids of orders being committed by a batch of another partition (handled concurrently), with the
   * outcome to come. Reports are keyed by student, so a resend reaches the same partition, but not once the
   * topic's partitions were added to: the second batch then waits to learn whether the first one published
   * it, so there is still one order, not two.
   */
  const committing = new Map<string, Promise<void>>();
  // Partitions handled concurrently: a fetch costs one thresholds read and one transaction, not one per partition.
  const options = { group: ALERT_GROUP, topics: [TOPICS.reports], commit: "manual" as const, maxBatch: 2000, concurrentPartitions: true };
  const consumer = await bus.consume(options, async (batch, c) => {
    // One consistent read per batch: every write acknowledged before it applies to these reports.
    const snap = await thresholds.current();
    const judged = judgeBatch(batch.records, snap, Date.now());
    const deadLetters = judged.deadLetters;
    // A report sent twice (its 202 lost) keeps its student and report ids, hence its alert id: one order, not two. Waiting happens before any id
    // is claimed, and the claims are taken in one synchronous pass, so two batches never wait for each other.
    let fresh: Set<string>;
    let orders: typeof judged.orders;
    for (;;) {
      const others = judged.orders.map((o) => committing.get(o.alertId)).filter((w) => w !== undefined);
      if (others.length > 0) {
        await Promise.allSettled(others);
        continue;
      }
      fresh = new Set<string>();
      orders = judged.orders.filter((o) => !recent.has(o.alertId) && !fresh.has(o.alertId) && fresh.add(o.alertId));
      break;
    }
    let settle!: () => void;
    const claim = new Promise<void>((r) => (settle = r));
    for (const id of fresh) committing.set(id, claim);
    const last = batch.records[batch.records.length - 1]!;
    try {
      await c.commitWith(
        [
          { topic: TOPICS.alerts, messages: orders.map((o) => ({ key: o.studentId, value: encodeDeploymentOrder(o) })) },
          // Named as on the cluster (with the namespace), where an operator looks the message up.
          { topic: TOPICS.deadLetters, messages: deadLetterMessages(bus, deadLetters) },
        ],
        [{ topic: batch.topic, partition: batch.partition, offset: last.offset + 1 }],
      );
      // Remembered only once published: a failed commit retries the batch with the same orders.
      for (const id of fresh) recent.add(id);
    } finally {
      for (const id of fresh) if (committing.get(id) === claim) committing.delete(id);
      settle();
    }
    metrics.alertsRaised.inc(orders.length);
    // Raised now that they are published; a laptop clock ahead of ours counts as no delay.
    const published = Date.now();
    for (const o of orders) metrics.reportToOrder.observe(Math.max(0, published - o.reportedAt) / 1000);
    if (deadLetters.length > 0) {
      metrics.deadLetters.inc(deadLetters.length);
      log.warn(`alert: ${deadLetters.length} malformed message(s) sent to ${TOPICS.deadLetters}: ${deadLetters[0]!.reason}`);
    }
  });
  const stopLag = trackLag(ALERT_GROUP, () => consumer.lag());
  return {
    name: "alert",
    async stop() {
      stopLag();
      await consumer.stop();
    },
  };
}
