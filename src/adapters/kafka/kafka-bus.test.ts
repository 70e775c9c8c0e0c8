import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { lineLogger } from "../../log.ts";
import { busContract } from "../../ports/bus.contract.ts";
import { BusUnavailableError, rawTopic } from "../../ports/bus.ts";
import { groupCoordinatorMovedOnce, staleGroupCoordinator } from "../../../tests/support/kafka-faults.ts";
import { checkWritten, KafkaBus } from "./kafka-bus.ts";

setDefaultTimeout(120_000);
const brokers = process.env.ACU_KAFKA_BROKERS?.split(",");
if (!brokers) console.log('kafka-bus.test: ACU_KAFKA_BROKERS is not set (scripts/cluster up && eval "$(scripts/cluster env)"); skipping the Kafka contract');

describe.skipIf(!brokers)("Kafka bus", () => {
  // Fresh topics per run so counts start at zero.
  const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const topic = `contract-in-${run}`;
  const outTopic = `contract-out-${run}`;
  busContract("kafka", () => KafkaBus.open({ brokers: brokers!, partitions: { [topic]: 3, [outTopic]: 2 } }), { topic, outTopic });

  test("a broker that cannot be reached is a clear error at open", async () => {
    await expect(KafkaBus.open({ brokers: ["127.0.0.1:1"], partitions: { x: 1 } })).rejects.toThrow("cannot reach Kafka at 127.0.0.1:1");
  });

  test("ACU_KAFKA_NAMESPACE takes a separator: `ns` names topics and groups `ns.…`; the old glued names alone are refused at open", async () => {
    const admin = new Kafka({ brokers: brokers!, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const ns = `acu-ns-${run}`;
      const bus = await KafkaBus.open({ brokers: brokers!, partitions: { reports: 1 }, namespace: ns });
      await bus.close();
      const names = await admin.listTopics();
      expect([names.includes(`${ns}.reports`), names.includes(`${ns}reports`)]).toEqual([true, false]);
      expect(bus.name("acu-alert")).toBe(`${ns}.acu-alert`);
      // A deployment of before: its topics carry the namespace without a separator.
      const old = `acu-old-${run}`;
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: `${old}reports`, numPartitions: 1 }] });
      await expect(KafkaBus.open({ brokers: brokers!, partitions: { reports: 1 }, namespace: old })).rejects.toThrow(
        `the cluster holds ${old}reports (the namespace glued to the names, as before) and not ${old}.reports`,
      );
      expect((await admin.listTopics()).includes(`${old}.reports`)).toBe(false);
      // A namespace ending with a separator is used as it is (the tests' `run.`).
      const dotted = await KafkaBus.open({ brokers: brokers!, partitions: { reports: 1 }, namespace: `${old}-` });
      expect(dotted.name("reports")).toBe(`${old}-reports`);
      await dotted.close();
    } finally {
      await admin.disconnect();
    }
  });

  test("a raw topic is consumed by its literal name, its offsets committed with commitWith's messages; missing or acu's own refused", async () => {
    const admin = new Kafka({ brokers: brokers!, logLevel: logLevel.NOTHING }).admin();
    const producer = new Kafka({ brokers: brokers!, logLevel: logLevel.NOTHING }).producer();
    const raw = `raw-in-${run}`;
    await admin.connect();
    await producer.connect();
    const bus = await KafkaBus.open({ brokers: brokers!, partitions: { moved: 2 }, namespace: `raw-${run}` });
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: raw, numPartitions: 2 }] });
      // As the original system writes: one constant key, so every record on one partition.
      await producer.send({ topic: raw, messages: Array.from({ length: 30 }, (_, i) => ({ key: "constant", value: `v${i}` })) });
      const seen: string[] = [];
      const c = await bus.consume({ group: "mover", topics: [rawTopic(raw)], commit: "manual" }, async (batch, consumer) => {
        expect([batch.topic, bus.topicName(batch.topic)]).toEqual([rawTopic(raw), raw]);
        await consumer.commitWith(
          [{ topic: "moved", messages: batch.records.map((r) => ({ key: "k", value: r.value })) }],
          [{ topic: batch.topic, partition: batch.partition, offset: batch.records.at(-1)!.offset + 1 }],
        );
        seen.push(...batch.records.map((r) => new TextDecoder().decode(r.value)));
      });
      for (let i = 0; i < 200 && seen.length < 30; i++) await Bun.sleep(50);
      expect(await c.lag()).toBe(0);
      await c.stop();
      expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `v${i}`));
      // What was published with the offsets, read back (end offsets also count the transaction markers).
      let moved = 0;
      const check = await bus.consume({ group: "check", topics: ["moved"], commit: "auto" }, async (batch) => {
        moved += batch.records.length;
      });
      for (let i = 0; i < 200 && moved < 30; i++) await Bun.sleep(50);
      await Bun.sleep(300);
      await check.stop();
      expect(moved).toBe(30);
      const [committed] = await admin.fetchOffsets({ groupId: `raw-${run}.mover`, topics: [raw] });
      expect(committed!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0)).toBe(30);
      const nothing = async () => {};
      await expect(bus.consume({ group: "g", topics: [rawTopic(`absent-${run}`)], commit: "auto" }, nothing)).rejects.toThrow(
        `raw topic absent-${run} does not exist on the cluster`,
      );
      await expect(bus.consume({ group: "g", topics: [rawTopic(`raw-${run}.moved`)], commit: "auto" }, nothing)).rejects.toThrow("is one of acu's own topics");
    } finally {
      await bus.close();
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  test("a publish Kafka refuses is a BusUnavailableError (ingest answers 503)", async () => {
    const bus = await KafkaBus.open({ brokers: brokers!, partitions: { [topic]: 3 } });
    try {
      // A topic that does not exist, with auto-creation off, cannot take writes.
      await expect(bus.publish(`missing-${run}`, [{ key: "k", value: "v" }])).rejects.toBeInstanceOf(BusUnavailableError);
    } finally {
      await bus.close();
    }
  });

  test("onAssign runs before any batch of a backlog, and its seeks apply to the first records handled", async () => {
    const backlog = `contract-backlog-${run}`;
    const bus = await KafkaBus.open({ brokers: brokers!, partitions: { [backlog]: 2 } });
    try {
      // Records already on the topic when the consumer joins: the first fetch can beat the assignment handling.
      for (let i = 0; i < 4; i++)
        await bus.publish(
          backlog,
          Array.from({ length: 250 }, (_, j) => ({ key: `k${i * 250 + j}`, value: `v${i * 250 + j}` })),
        );
      const end = await bus.endOffsets(backlog);
      let assigned = false;
      const early: number[] = [];
      const first = new Map<number, number>();
      let seen = 0;
      const c = await bus.consume(
        {
          group: `backlog-${run}`,
          topics: [backlog],
          commit: "manual",
          onAssign: async (parts) => {
            await Bun.sleep(300);
            assigned = true;
            return parts.filter((p) => p.partition === 0).map((p) => ({ topic: p.topic, partition: 0, offset: 10 }));
          },
        },
        async (batch) => {
          if (!assigned) early.push(batch.partition);
          if (!first.has(batch.partition)) first.set(batch.partition, batch.records[0]!.offset);
          seen += batch.records.length;
        },
      );
      const want = end[0]! - 10 + end[1]!;
      for (let i = 0; i < 100 && seen < want; i++) await Bun.sleep(100);
      await c.stop();
      expect(early).toEqual([]);
      expect(first.get(0)).toBe(10);
      expect(seen).toBe(want);
    } finally {
      await bus.close();
    }
  });

  test("commitWith calls made together share one transaction: all land, or none and every caller gets the error", async () => {
    const t = `contract-txgroup-${run}`;
    const out = `contract-txgroup-out-${run}`;
    const bus = await KafkaBus.open({ brokers: brokers!, partitions: { [t]: 2, [out]: 2 } });
    try {
      await bus.publish(t, [
        { key: "a", value: "1" },
        { key: "b", value: "2" },
        { key: "c", value: "3" },
      ]);
      const end = await bus.endOffsets(t);
      const g = `txgroup-${run}`;
      let outcome: PromiseSettledResult<void>[] = [];
      let handled!: () => void;
      const done = new Promise<void>((r) => (handled = r));
      // First the group fails as a unit: one caller's message names a topic this bus does not know, and the
      // other caller's orders and offsets, in the same transaction, must not become visible either.
      const c = await bus.consume({ group: g, topics: [t], commit: "manual" }, async (batch, consumer) => {
        if (batch.partition !== 0 && end[0]! > 0) return;
        outcome = await Promise.allSettled([
          consumer.commitWith(
            [{ topic: out, messages: [{ key: "x", value: "good" }] }],
            [{ topic: t, partition: batch.partition, offset: batch.records.at(-1)!.offset + 1 }],
          ),
          consumer.commitWith([{ topic: `missing-${run}`, messages: [{ key: "y", value: "bad" }] }], []),
        ]);
        handled();
      });
      await Promise.race([done, Bun.sleep(20_000)]);
      await c.stop();
      expect(outcome.map((o) => o.status)).toEqual(["rejected", "rejected"]);
      expect((await bus.endOffsets(out)).reduce((a, b) => a + b, 0)).toBe(0);
      const probe = await bus.consume({ group: g, topics: [t], commit: "manual" }, async () => {});
      expect(await probe.lag()).toBe(3);
      await probe.stop();
      // Then together and valid: one transaction carries both, and both become visible.
      let ok: PromiseSettledResult<void>[] = [];
      let handled2!: () => void;
      const done2 = new Promise<void>((r) => (handled2 = r));
      const c2 = await bus.consume({ group: g, topics: [t], commit: "manual" }, async (batch, consumer) => {
        if (ok.length > 0) return;
        const other = 1 - batch.partition;
        ok = await Promise.allSettled([
          consumer.commitWith(
            [{ topic: out, messages: [{ key: "x", value: "one" }] }],
            [{ topic: t, partition: batch.partition, offset: end[batch.partition]! }],
          ),
          consumer.commitWith([{ topic: out, messages: [{ key: "y", value: "two" }] }], [{ topic: t, partition: other, offset: end[other]! }]),
        ]);
        handled2();
      });
      await Promise.race([done2, Bun.sleep(20_000)]);
      await c2.stop();
      expect(ok.map((o) => o.status)).toEqual(["fulfilled", "fulfilled"]);
      const probe2 = await bus.consume({ group: g, topics: [t], commit: "manual" }, async () => {});
      expect(await probe2.lag()).toBe(0);
      await probe2.stop();
      const seen: string[] = [];
      const reader = await bus.consume({ group: `txgroup-read-${run}`, topics: [out], commit: "manual" }, async (b) => {
        for (const r of b.records) seen.push(new TextDecoder().decode(r.value));
      });
      for (let i = 0; i < 100 && seen.length < 2; i++) await Bun.sleep(100);
      await reader.stop();
      expect(seen.sort()).toEqual(["one", "two"]);
    } finally {
      await bus.close();
    }
  });

  test("back-to-back transactions go through the producers in turn: a failed one fails its callers alone, the next ones (on either producer) commit", async () => {
    const t = `contract-txturns-${run}`;
    const out = `contract-txturns-out-${run}`;
    const bus = await KafkaBus.open({ brokers: brokers!, partitions: { [t]: 1, [out]: 2 } });
    try {
      await bus.publish(t, [{ key: "a", value: "1" }]);
      const outcome: PromiseSettledResult<void>[] = [];
      const settled: number[] = [];
      let handled!: () => void;
      const done = new Promise<void>((r) => (handled = r));
      const c = await bus.consume({ group: `txturns-${run}`, topics: [t], commit: "manual" }, async (batch, consumer) => {
        if (settled.length > 0) return;
        // Six transactions, one after the other (each begun as soon as the last ended: what met
        // CONCURRENT_TRANSACTIONS with one producer); the fourth names a topic this bus does not know.
        for (let i = 0; i < 6; i++) {
          const topic = i === 3 ? `missing-${run}` : out;
          const offsets = i === 5 ? [{ topic: t, partition: batch.partition, offset: batch.records.at(-1)!.offset + 1 }] : [];
          const [o] = await Promise.allSettled([consumer.commitWith([{ topic, messages: [{ key: `k${i}`, value: `m${i}` }] }], offsets)]);
          outcome.push(o!);
          settled.push(i);
        }
        handled();
      });
      await Promise.race([done, Bun.sleep(30_000)]);
      await c.stop();
      expect(outcome.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"]);
      const probe = await bus.consume({ group: `txturns-${run}`, topics: [t], commit: "manual" }, async () => {});
      expect(await probe.lag()).toBe(0);
      await probe.stop();
      const seen: string[] = [];
      const reader = await bus.consume({ group: `txturns-read-${run}`, topics: [out], commit: "manual" }, async (b) => {
        for (const r of b.records) seen.push(new TextDecoder().decode(r.value));
      });
      for (let i = 0; i < 100 && seen.length < 5; i++) await Bun.sleep(100);
      await Bun.sleep(300);
      await reader.stop();
      expect(seen.sort()).toEqual(["m0", "m1", "m2", "m4", "m5"]);
    } finally {
      await bus.close();
    }
  });

  test("a consumer whose kafkajs fetch loop stopped is replaced: its partitions are given up, then consumed again", async () => {
    const t = `contract-stalled-${run}`;
    const lines: string[] = [];
    const bus = await KafkaBus.open({ brokers: brokers!, partitions: { [t]: 2 }, consumerSilenceMs: 3000, log: lineLogger((l) => lines.push(l)) });
    try {
      const seen = new Set<string>();
      const lost: number[] = [];
      const c = await bus.consume(
        { group: `stalled-${run}`, topics: [t], commit: "auto", onLost: async (ps) => void lost.push(...ps.map((p) => p.partition)) },
        async (b) => {
          for (const r of b.records) seen.add(r.key);
        },
      );
      await bus.publish(
        t,
        Array.from({ length: 100 }, (_, i) => ({ key: `a${i}`, value: "x" })),
      );
      for (let i = 0; i < 200 && seen.size < 100; i++) await Bun.sleep(100);
      expect(seen.size).toBe(100);
      // What kafkajs does after an error it does not retry: the fetch loop ends, with no restart.
      await (c as unknown as { consumer: { stop(): Promise<void> } }).consumer.stop();
      await bus.publish(
        t,
        Array.from({ length: 100 }, (_, i) => ({ key: `b${i}`, value: "x" })),
      );
      for (let i = 0; i < 400 && seen.size < 200; i++) await Bun.sleep(100);
      await c.stop();
      expect(seen.size).toBe(200);
      expect(lost.sort()).toEqual([0, 1]);
      expect(lines.some((l) => l.includes("consumer stopped (no fetch for") && l.includes("replacing it"))).toBe(true);
      expect(lines.some((l) => l.includes("consumer replaced"))).toBe(true);
    } finally {
      await bus.close();
    }
  });

  test("a member whose commits reach a broker that no longer coordinates its group is replaced: every record consumed and committed", async () => {
    const t = `contract-coordinator-${run}`;
    const group = `coordinator-${run}`;
    const lines: string[] = [];
    const bus = await KafkaBus.open({ brokers: brokers!, partitions: { [t]: 2 }, log: lineLogger((l) => lines.push(l)) });
    // kafkajs keeps the coordinator it found at join for its commits, however often they are refused.
    const stale = staleGroupCoordinator(bus.name(group));
    try {
      await bus.publish(
        t,
        Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: "x" })),
      );
      const end = await bus.endOffsets(t);
      const seen = new Set<string>();
      const committed = new Map<number, number>();
      const lost: number[] = [];
      const c = await bus.consume(
        { group, topics: [t], commit: "manual", onLost: async (ps) => void lost.push(...ps.map((p) => p.partition)) },
        async (b, consumer) => {
          for (const r of b.records) seen.add(r.key);
          const next = b.records.at(-1)!.offset + 1;
          await consumer.commit([{ topic: t, partition: b.partition, offset: next }]);
          committed.set(b.partition, next);
        },
      );
      for (let i = 0; i < 600 && !(committed.get(0) === end[0] && committed.get(1) === end[1]); i++) await Bun.sleep(100);
      expect(await c.lag()).toBe(0);
      await c.stop();
      expect(seen.size).toBe(200);
      expect(stale.refused()).toBeGreaterThan(0);
      expect(lost.length).toBeGreaterThan(0);
      expect(lines.some((l) => l.includes("consumer stopped (the group coordinator moved); replacing it"))).toBe(true);
      expect(lines.some((l) => l.includes("consumer replaced"))).toBe(true);
    } finally {
      stale.restore();
      await bus.close();
    }
  });

  test("a transaction whose offsets reach a broker that no longer coordinates the group is redone, without replacing the member", async () => {
    const t = `contract-txcoordinator-${run}`;
    const out = `contract-txcoordinator-out-${run}`;
    const group = `txcoordinator-${run}`;
    const lines: string[] = [];
    const bus = await KafkaBus.open({ brokers: brokers!, partitions: { [t]: 2, [out]: 2 }, log: lineLogger((l) => lines.push(l)) });
    // kafkajs looks the group coordinator up again for every transaction's offsets.
    const moved = groupCoordinatorMovedOnce(bus.name(group));
    try {
      await bus.publish(
        t,
        Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
      );
      let failures = 0;
      const c = await bus.consume({ group, topics: [t], commit: "manual" }, async (b, consumer) => {
        const offsets = [{ topic: t, partition: b.partition, offset: b.records.at(-1)!.offset + 1 }];
        await consumer.commitWith([{ topic: out, messages: b.records.map((r) => ({ key: r.key, value: r.value })) }], offsets).catch((e) => {
          failures++;
          throw e;
        });
      });
      for (let i = 0; i < 300 && (moved.refused() === 0 || (await c.lag()) > 0); i++) await Bun.sleep(100);
      expect(await c.lag()).toBe(0);
      await c.stop();
      expect(moved.refused()).toBe(1);
      expect(failures).toBe(1);
      expect(lines.filter((l) => l.includes("consumer stopped ("))).toEqual([]);
      // The refused transaction was aborted: each record is on the output topic once.
      const copies: string[] = [];
      const reader = await bus.consume({ group: `txcoordinator-read-${run}`, topics: [out], commit: "manual" }, async (b) => {
        for (const r of b.records) copies.push(new TextDecoder().decode(r.value));
      });
      for (let i = 0; i < 100 && copies.length < 100; i++) await Bun.sleep(100);
      await Bun.sleep(500);
      await reader.stop();
      expect(copies.sort()).toEqual(Array.from({ length: 100 }, (_, i) => `v${i}`).sort());
    } finally {
      moved.restore();
      await bus.close();
    }
  });

  test("concurrent publishes share requests, each settles, and one key's messages keep the callers' order", async () => {
    const t = `contract-coalesce-${run}`;
    const bus = await KafkaBus.open({ brokers: brokers!, partitions: { [t]: 3 } });
    try {
      // 200 publishes in flight at once (as ingest under load): fewer round trips, same guarantees.
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          bus.publish(t, [
            { key: "same", value: `m${i}` },
            { key: `k${i}`, value: `x${i}` },
          ]),
        ),
      );
      expect((await bus.endOffsets(t)).reduce((a, b) => a + b, 0)).toBe(400);
      const got: string[] = [];
      const c = await bus.consume({ group: `coalesce-${run}`, topics: [t], commit: "auto" }, async (b) => {
        for (const r of b.records) if (r.key === "same") got.push(new TextDecoder().decode(r.value));
      });
      for (let i = 0; i < 100 && got.length < 200; i++) await Bun.sleep(100);
      await c.stop();
      expect(got).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
      // A refused request fails every publish it carried, as a BusUnavailableError.
      const results = await Promise.allSettled([
        bus.publish(`missing-${run}`, [{ key: "a", value: "1" }]),
        bus.publish(`missing-${run}`, [{ key: "b", value: "2" }]),
      ]);
      for (const r of results) expect(r.status === "rejected" && (r as PromiseRejectedResult).reason instanceof BusUnavailableError).toBe(true);
    } finally {
      await bus.close();
    }
  });

  /** `n` publishes of 8 messages of 100 KB each, all made at once; each one's outcome and how long it took to settle. */
  async function burst(bus: KafkaBus, t: string, n: number) {
    const value = "x".repeat(100 * 1024);
    return Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const at = performance.now();
        const messages = Array.from({ length: 8 }, (_, j) => ({ key: `k${i}-${j}`, value }));
        const r = await bus.publish(t, messages).then(
          () => null,
          (e: unknown) => e,
        );
        return { error: r, ms: performance.now() - at };
      }),
    );
  }

  test("the publish queue is bounded in bytes: a publish beyond it is refused at once, and the bound frees as requests go", async () => {
    const t = `contract-queue-${run}`;
    const bus = await KafkaBus.open({ brokers: brokers!, partitions: { [t]: 3 }, publishQueueBytes: 2 * 1024 * 1024 });
    try {
      const settled = await burst(bus, t, 12);
      const refused = settled.filter((s) => s.error !== null);
      const taken = settled.filter((s) => s.error === null);
      // 2 MiB hold 2 publishes of 800 KB: the rest are refused, before any request could have been answered.
      expect(taken.length).toBe(2);
      expect(refused.length).toBe(10);
      for (const r of refused) {
        expect(r.error).toBeInstanceOf(BusUnavailableError);
        expect(String(r.error)).toContain("publish queue is full");
      }
      expect(Math.max(...refused.map((r) => r.ms))).toBeLessThan(Math.min(...taken.map((r) => r.ms)));
      // Nothing refused was written; the queue is free again.
      expect((await bus.endOffsets(t)).reduce((a, b) => a + b, 0)).toBe(16);
      await bus.publish(t, [{ key: "after", value: "v" }]);
    } finally {
      await bus.close();
    }
  });

  test("a publish settles within its deadline counted from its arrival, not from when its request left (slow brokers: no k × 10 s)", async () => {
    const t = `contract-deadline-${run}`;
    const timeoutMs = 200;
    const bus = await KafkaBus.open({ brokers: brokers!, partitions: { [t]: 3 }, publishTimeoutMs: timeoutMs, publishQueueBytes: 512 * 1024 * 1024 });
    try {
      // ~100 MB at once: one request of ~900 KB at a time, far more than 200 ms of work for the broker.
      const settled = await burst(bus, t, 125);
      const late = settled.filter((s) => s.ms > timeoutMs + 1000);
      expect(late.map((s) => Math.round(s.ms))).toEqual([]);
      const refused = settled.filter((s) => s.error !== null);
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) expect(r.error).toBeInstanceOf(BusUnavailableError);
    } finally {
      await bus.close();
    }
  });

  test("ping rejects, naming the topic, once one of the bus's topics is gone (it could not take writes)", async () => {
    const t = `ping-${run}`;
    const bus = await KafkaBus.open({ brokers: brokers!, partitions: { [t]: 2 } });
    try {
      await bus.ping();
      // Another client deletes it, as an operator would.
      const admin = new Kafka({ brokers: brokers!, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [t] }).finally(() => admin.disconnect());
      await expect(bus.ping()).rejects.toThrow(t);
    } finally {
      await bus.close();
    }
  });
});

// kafkajs may resolve a send that never went to a partition whose leader moved: the answer must confirm every partition sent.
test("checkWritten: every partition a send carried must be confirmed without error", () => {
  const sent = [{ topic: "r", messages: [{ partition: 0 }, { partition: 2 }, { partition: 2 }] }];
  expect(() =>
    checkWritten(sent, [
      { topicName: "r", partition: 0, errorCode: 0 },
      { topicName: "r", partition: 2, errorCode: 0 },
    ]),
  ).not.toThrow();
  // Partition 2 moved to a broker that had already answered: kafkajs never sent it, yet resolved.
  expect(() => checkWritten(sent, [{ topicName: "r", partition: 0, errorCode: 0 }])).toThrow("r/2");
  expect(() =>
    checkWritten(sent, [
      { topicName: "r", partition: 0, errorCode: 0 },
      { topicName: "r", partition: 2, errorCode: 19 },
    ]),
  ).toThrow("r/2");
  expect(() =>
    checkWritten(sent, [
      { topicName: "other", partition: 0, errorCode: 0 },
      { topicName: "r", partition: 2, errorCode: 0 },
    ]),
  ).toThrow("r/0");
});
