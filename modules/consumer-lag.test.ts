import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLogBus } from "../src/adapters/embedded/log-bus.ts";
import { metrics } from "../src/metrics.ts";
import { reportLag } from "./consumer-lag.ts";

const dir = mkdtempSync(join(tmpdir(), "acu-lag-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function gauge(group: string): Promise<number | undefined> {
  return (await metrics.consumerLag.get()).values.find((v) => v.labels.group === group)?.value;
}

async function until(group: string, want: number): Promise<number | undefined> {
  for (let i = 0; i < 200 && (await gauge(group)) !== want; i++) await Bun.sleep(10);
  return gauge(group);
}

test("reportLag keeps the group's acu_consumer_lag at the records it has not committed, until stopped", async () => {
  const bus = await EmbeddedLogBus.open(dir, { t: 2 });
  const group = `lag-test-${process.pid}`;
  await bus.publish(
    "t",
    Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: "x" })),
  );
  const batches: Array<{ partition: number; next: number }> = [];
  const consumer = await bus.consume({ group, topics: ["t"], commit: "manual" }, async (b) => {
    batches.push({ partition: b.partition, next: b.records[b.records.length - 1]!.offset + 1 });
  });
  const stop = reportLag(consumer, group, 20);
  try {
    expect(await until(group, 5)).toBe(5);
    for (let i = 0; i < 200 && batches.length === 0; i++) await Bun.sleep(10);
    const first = batches[0]!;
    await consumer.commit([{ topic: "t", partition: first.partition, offset: first.next }]);
    expect(await until(group, 5 - first.next)).toBe(5 - first.next);
  } finally {
    stop();
  }
  // Stopped: more records, and the gauge stays where it was.
  const before = await gauge(group);
  await bus.publish("t", [{ key: "late", value: "x" }]);
  await Bun.sleep(100);
  expect(await gauge(group)).toBe(before);
  await consumer.stop();
  await bus.close();
});
