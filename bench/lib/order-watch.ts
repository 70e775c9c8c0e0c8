import type { Consumer } from "kafkajs";
import { kafkaClient } from "./common.ts";

export interface WatchedOrder {
  reportId: string;
  reportedAt?: number;
  raisedAt?: number;
}

/**
 * The latency benchmarks' reader of an orders topic, the same for acu and for its peers: a read_committed
 * kafkajs consumer (an order counts once its transaction has committed, as every acu reader and any
 * downstream system sees it) that calls `onOrder` with each order (its reportId and, where the side sets
 * them, reportedAt and raisedAt) as its record arrives, with the arrival on both clocks. Fetches
 * wait at most 5 ms: the broker answers a long poll as soon as records are there, so that bound only
 * matters when it is idle.
 */
export class OrderWatch {
  private constructor(private readonly consumer: Consumer) {}

  static async start(brokers: string, topic: string, group: string, onOrder: (order: WatchedOrder, at: number, wall: number) => void): Promise<OrderWatch> {
    const consumer = kafkaClient(brokers, "acu-bench-order-watch").consumer({
      groupId: group,
      readUncommitted: false,
      maxWaitTimeInMs: 5,
      minBytes: 1,
      heartbeatInterval: 1000,
      sessionTimeout: 10_000,
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let off = () => {};
    const joined = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`order watch on ${topic}: no partitions within 30 s`)), 30_000);
      off = consumer.on(consumer.events.GROUP_JOIN, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await consumer.run({
      // It commits nothing: kafkajs would otherwise commit after each batch, a round trip in its loop.
      autoCommit: false,
      // Every partition's batch handled as it comes, not one partition after another.
      partitionsConsumedConcurrently: 6,
      eachBatch: async ({ batch }) => {
        const at = performance.now();
        const wall = Date.now();
        for (const m of batch.messages) {
          if (!m.value) continue;
          const order = JSON.parse(m.value.toString()) as Partial<WatchedOrder>;
          if (typeof order.reportId === "string") onOrder(order as WatchedOrder, at, wall);
        }
      },
    });
    try {
      await joined;
    } catch (e) {
      await consumer.disconnect().catch(() => {});
      throw e;
    } finally {
      off();
    }
    return new OrderWatch(consumer);
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect().catch(() => {});
  }
}
