import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLogBus } from "../src/adapters/embedded/log-bus.ts";
import { silentLogger } from "../src/log.ts";
import { TOPICS, type Consumer, type OffsetCommit } from "../src/ports/bus.ts";
import { OffsetsBehind } from "./offsets-behind.ts";

const dir = mkdtempSync(join(tmpdir(), "acu-offsets-behind-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The real embedded consumer; `refuse` commits are refused first (a coordinator moving, a broker down). */
function refusing(c: Consumer, refuse: number, seen: OffsetCommit[][]): Consumer {
  return {
    ...c,
    commit: async (offsets) => {
      seen.push(offsets);
      if (refuse-- > 0) throw new Error("NOT_COORDINATOR");
      await c.commit(offsets);
    },
  };
}

test("offsets handed behind the work are committed, the newest per partition; a refused commit's go with the next; dropped ones are not", async () => {
  const bus = await EmbeddedLogBus.open(join(dir, "bus"), { [TOPICS.alerts]: 2 });
  await bus.publish(
    TOPICS.alerts,
    Array.from({ length: 40 }, (_, i) => ({ key: `s${i}`, value: `${i}` })),
  );
  const offsets = new OffsetsBehind("test", silentLogger);
  const seen: OffsetCommit[][] = [];
  let wrapped: Consumer | null = null;
  let handled = 0;
  const consumer = await bus.consume({ group: "g", topics: [TOPICS.alerts], commit: "manual", maxBatch: 3 }, async (batch, c) => {
    wrapped ??= refusing(c, 1, seen);
    handled += batch.records.length;
    offsets.hand(wrapped, { topic: batch.topic, partition: batch.partition, offset: batch.records.at(-1)!.offset + 1 });
  });
  for (let t = 0; t < 200 && handled < 40; t++) await Bun.sleep(10);
  expect(handled).toBe(40);
  await offsets.flush();
  // The first commit was refused and nothing was left behind: every record is committed.
  expect(seen.length).toBeGreaterThan(1);
  expect(await consumer.lag()).toBe(0);
  // Never more than one offset per partition in a commit, and never fewer batches' worth than handed.
  for (const c of seen) expect(new Set(c.map((o) => o.partition)).size).toBe(c.length);
  expect(seen.length).toBeLessThan(40 / 3 + 2);

  // A refused commit for a partition given to another member meanwhile: dropped, not committed by the flush.
  const lost = new OffsetsBehind("test", silentLogger);
  const after: OffsetCommit[][] = [];
  lost.hand(refusing(consumer, 2, after), { topic: TOPICS.alerts, partition: 0, offset: 1 });
  await lost.flush();
  expect(after.length).toBe(2);
  lost.drop([{ topic: TOPICS.alerts, partition: 0 }]);
  await lost.flush();
  expect(after.length).toBe(2);
  expect(await consumer.lag()).toBe(0);
  await consumer.stop();
  await bus.close();
});
