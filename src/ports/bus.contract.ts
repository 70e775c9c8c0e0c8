import { afterAll, expect, test } from "bun:test";
import type { Bus, BusRecord } from "./bus.ts";
import { readToEnd, TopicReader } from "./topic-reader.ts";

/**
 * The behaviour every Bus adapter must have. `open` returns a bus over the same storage each time (so a
 * test can close and reopen it); each test uses its own topic-free group names to stay independent.
 */
export function busContract(name: string, open: () => Promise<Bus>, opts: { topic: string; outTopic: string }) {
  const { topic, outTopic } = opts;
  const dec = new TextDecoder();
  const buses: Bus[] = [];
  const fresh = async () => {
    const b = await open();
    buses.push(b);
    return b;
  };
  afterAll(async () => {
    for (const b of buses) await b.close().catch(() => {});
  });
  let groupSeq = 0;
  const group = () => `contract-${name}-${Date.now()}-${groupSeq++}`;

  /** The records `keep` accepts, in delivery order, once `want` of them came (or 20 s passed: the caller checks the count). */
  async function drain(
    bus: Bus,
    g: string,
    want: number,
    commit: "auto" | "manual" = "auto",
    keep: (r: BusRecord) => boolean = () => true,
  ): Promise<BusRecord[]> {
    const got: BusRecord[] = [];
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const c = await bus.consume({ group: g, topics: [topic], commit }, async (batch) => {
      got.push(...batch.records.filter(keep));
      if (got.length >= want) resolve();
    });
    await Promise.race([done, Bun.sleep(20_000)]);
    await c.stop();
    return got;
  }

  test(`${name}: keyed messages keep their order per key and land on one partition`, async () => {
    const bus = await fresh();
    // Values of this run only: a topic reused across runs (or by other tests) cannot fill in for them.
    const tag = `order-${Date.now()}-`;
    const keys = 7;
    const total = 300;
    const before = (await bus.endOffsets(topic)).reduce((a, b) => a + b, 0);
    await bus.publish(
      topic,
      Array.from({ length: total }, (_, i) => ({ key: `student-${i % keys}`, value: `${tag}${i}` })),
    );
    expect((await bus.endOffsets(topic)).reduce((a, b) => a + b, 0) - before).toBe(total);
    const mine = await drain(bus, group(), total, "auto", (r) => dec.decode(r.value).startsWith(tag));
    // Every message once: an empty or short delivery fails here, not in the loop below.
    expect(mine.length).toBe(total);
    const byKey = new Map<string, BusRecord[]>();
    for (const r of mine) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
    expect([...byKey.keys()].sort()).toEqual(Array.from({ length: keys }, (_, k) => `student-${k}`).sort());
    for (const [key, rs] of byKey) {
      const k = Number(key.slice("student-".length));
      // Exactly this key's messages, in the order they were published, from one partition in offset order.
      const sent = Array.from({ length: total }, (_, i) => i).filter((i) => i % keys === k);
      expect({ key, values: rs.map((r) => Number(dec.decode(r.value).slice(tag.length))) }).toEqual({ key, values: sent });
      expect({ key, partitions: new Set(rs.map((r) => r.partition)).size }).toEqual({ key, partitions: 1 });
      const offsets = rs.map((r) => r.offset);
      expect({ key, offsets }).toEqual({ key, offsets: [...offsets].sort((a, b) => a - b) });
    }
  });

  test(`${name}: a group resumes after its committed offsets, and only there`, async () => {
    const bus = await fresh();
    const g = group();
    const end0 = (await bus.endOffsets(topic)).reduce((a, b) => a + b, 0);
    await bus.publish(
      topic,
      Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `first-${i}` })),
    );
    const first = await drain(bus, g, end0 + 50);
    expect(first.length).toBe(end0 + 50);
    await bus.publish(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `second-${i}` })),
    );
    const second = await drain(bus, g, 20);
    expect(second.map((r) => dec.decode(r.value)).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `second-${i}`).sort());
  });

  test(`${name}: without a commit, records are delivered again (at-least-once)`, async () => {
    const bus = await fresh();
    const g = group();
    const end = (await bus.endOffsets(topic)).reduce((a, b) => a + b, 0);
    await bus.publish(topic, [{ key: "x", value: "uncommitted" }]);
    const a = await drain(bus, g, end + 1, "manual");
    const b = await drain(bus, g, end + 1, "manual");
    expect(a.length).toBe(end + 1);
    expect(b.length).toBe(end + 1);
  });

  test(`${name}: a handler that fails gets the same batch again, nothing skipped`, async () => {
    const bus = await fresh();
    const g = group();
    const end = (await bus.endOffsets(topic)).reduce((a, b) => a + b, 0);
    let failed = false;
    const seen: string[] = [];
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const c = await bus.consume({ group: g, topics: [topic], commit: "auto" }, async (batch) => {
      if (!failed) {
        failed = true;
        throw new Error("transient");
      }
      for (const r of batch.records) seen.push(`${r.partition}:${r.offset}`);
      if (seen.length >= end) resolve();
    });
    await Promise.race([done, Bun.sleep(20_000)]);
    await c.stop();
    expect(new Set(seen).size).toBe(end);
  });

  test(`${name}: commitWith publishes and commits together`, async () => {
    const bus = await fresh();
    const g = group();
    await bus.publish(topic, [{ key: "t", value: "in" }]);
    const end = (await bus.endOffsets(topic)).reduce((a, b) => a + b, 0);
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    let n = 0;
    const c = await bus.consume({ group: g, topics: [topic], commit: "manual" }, async (batch, consumer) => {
      const last = batch.records[batch.records.length - 1]!;
      await consumer.commitWith(
        [{ topic: outTopic, messages: batch.records.map((r) => ({ key: r.key, value: `out-${r.offset}` })) }],
        [{ topic, partition: batch.partition, offset: last.offset + 1 }],
      );
      n += batch.records.length;
      if (n >= end) resolve();
    });
    await Promise.race([done, Bun.sleep(20_000)]);
    await c.stop();
    const lagAfter = await (async () => {
      const c2 = await bus.consume({ group: g, topics: [topic], commit: "manual" }, async () => {});
      const l = await c2.lag();
      await c2.stop();
      return l;
    })();
    // Everything consumed was committed, and every output is readable (Kafka's offsets also count transaction markers, so count records).
    expect(n).toBe(end);
    expect(lagAfter).toBe(0);
    const outs: string[] = [];
    let got!: () => void;
    const all = new Promise<void>((r) => (got = r));
    const reader = await bus.consume({ group: group(), topics: [outTopic], commit: "manual" }, async (batch) => {
      for (const r of batch.records) outs.push(dec.decode(r.value));
      if (outs.length >= n) got();
    });
    await Promise.race([all, Bun.sleep(20_000)]);
    await reader.stop();
    expect(outs.filter((v) => v.startsWith("out-")).length).toBe(n);
  });

  test(`${name}: with concurrentPartitions, each partition still gets one batch at a time in offset order, and every commitWith lands`, async () => {
    const bus = await fresh();
    const g = group();
    await bus.publish(
      topic,
      Array.from({ length: 300 }, (_, i) => ({ key: `cp-${i % 11}`, value: `cp${i}` })),
    );
    const end = (await bus.endOffsets(topic)).reduce((a, b) => a + b, 0);
    const active = new Map<number, number>();
    const nextOffset = new Map<number, number>();
    const problems: string[] = [];
    let n = 0;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const c = await bus.consume({ group: g, topics: [topic], commit: "manual", maxBatch: 50, concurrentPartitions: true }, async (batch, consumer) => {
      const p = batch.partition;
      active.set(p, (active.get(p) ?? 0) + 1);
      if (active.get(p)! > 1) problems.push(`partition ${p}: two batches at once`);
      if (batch.records[0]!.offset < (nextOffset.get(p) ?? 0)) problems.push(`partition ${p}: offset ${batch.records[0]!.offset} after ${nextOffset.get(p)}`);
      await Bun.sleep(5);
      const last = batch.records[batch.records.length - 1]!;
      await consumer.commitWith(
        [{ topic: outTopic, messages: batch.records.map((r) => ({ key: r.key, value: `cpo-${r.partition}-${r.offset}` })) }],
        [{ topic, partition: p, offset: last.offset + 1 }],
      );
      nextOffset.set(p, last.offset + 1);
      active.set(p, active.get(p)! - 1);
      n += batch.records.length;
      if (n >= end) resolve();
    });
    await Promise.race([done, Bun.sleep(20_000)]);
    await c.stop();
    expect(problems).toEqual([]);
    expect(n).toBe(end);
    const c2 = await bus.consume({ group: g, topics: [topic], commit: "manual" }, async () => {});
    const lagAfter = await c2.lag();
    await c2.stop();
    expect(lagAfter).toBe(0);
    const outs = new Set<string>();
    let got!: () => void;
    const all = new Promise<void>((r) => (got = r));
    const reader = await bus.consume({ group: group(), topics: [outTopic], commit: "manual" }, async (batch) => {
      for (const r of batch.records) if (dec.decode(r.value).startsWith("cpo-")) outs.add(dec.decode(r.value));
      if (outs.size >= n) got();
    });
    await Promise.race([all, Bun.sleep(20_000)]);
    await reader.stop();
    expect(outs.size).toBe(n);
  });

  test(`${name}: a reader reaches endOffsets after transactional writes (records and onPosition)`, async () => {
    const bus = await fresh();
    await bus.publish(topic, [
      { key: "m1", value: "in" },
      { key: "m2", value: "in" },
    ]);
    let resolve!: () => void;
    const written = new Promise<void>((r) => (resolve = r));
    const w = await bus.consume({ group: group(), topics: [topic], commit: "manual" }, async (batch, consumer) => {
      const last = batch.records[batch.records.length - 1]!;
      await consumer.commitWith(
        [{ topic: outTopic, messages: batch.records.map((r) => ({ key: r.key, value: `pos-${r.offset}` })) }],
        [{ topic, partition: batch.partition, offset: last.offset + 1 }],
      );
      resolve();
    });
    await Promise.race([written, Bun.sleep(20_000)]);
    await w.stop();
    // Kafka ends each partition written in a transaction with a marker no reader receives as a record.
    const end = await bus.endOffsets(outTopic);
    const next = end.map(() => 0);
    const caughtUp = () => next.every((n, p) => n >= end[p]!);
    let done!: () => void;
    const reached = new Promise<void>((r) => (done = r));
    const reader = await bus.consume(
      {
        group: group(),
        topics: [outTopic],
        commit: "manual",
        onPosition: (_t, p, n) => {
          next[p] = Math.max(next[p]!, n);
          if (caughtUp()) done();
        },
      },
      async (batch) => {
        for (const r of batch.records) next[r.partition] = Math.max(next[r.partition]!, r.offset + 1);
        if (caughtUp()) done();
      },
    );
    await Promise.race([reached, Bun.sleep(20_000)]);
    await reader.stop();
    expect(next.map((n, p) => n >= end[p]!)).toEqual(end.map(() => true));
  });

  test(`${name}: identity names the engine, a cluster id and each topic's engine name, the same after a reopen`, async () => {
    const first = await fresh();
    const a = await first.identity([topic, outTopic]);
    expect(a.engine).toBe(first.engine);
    expect(a.cluster.length).toBeGreaterThan(0);
    expect(Object.keys(a.topics).sort()).toEqual([topic, outTopic].sort());
    expect(a.topics[topic]!.endsWith(topic)).toBe(true);
    expect(await first.identity([topic, outTopic])).toEqual(a);
    await first.close();
    const again = await fresh();
    expect(await again.identity([topic, outTopic])).toEqual(a);
  });

  test(`${name}: ping resolves while the bus is open, and rejects once it is closed`, async () => {
    const bus = await open();
    await bus.ping();
    await bus.ping();
    await bus.close();
    await expect(bus.ping()).rejects.toThrow();
  });

  test(`${name}: readToEnd reads from its start offsets to the end offsets at the call, then stops; a TopicReader goes on`, async () => {
    const bus = await fresh();
    const tag = `reader-${Date.now()}`;
    await bus.publish(topic, [
      { key: "r1", value: "in" },
      { key: "r2", value: "in" },
      { key: "r3", value: "in" },
    ]);
    // Written in transactions (on Kafka each partition then ends with a marker that holds no record).
    let resolve!: () => void;
    const written = new Promise<void>((r) => (resolve = r));
    let copies = 0;
    const w = await bus.consume({ group: group(), topics: [topic], commit: "manual" }, async (batch, consumer) => {
      await consumer.commitWith(
        [{ topic: outTopic, messages: batch.records.map((r) => ({ key: r.key, value: `${tag}-${r.partition}-${r.offset}` })) }],
        [{ topic, partition: batch.partition, offset: batch.records[batch.records.length - 1]!.offset + 1 }],
      );
      copies += batch.records.length;
      if (copies >= 3) resolve();
    });
    await Promise.race([written, Bun.sleep(20_000)]);
    await w.stop();
    const end = await bus.endOffsets(outTopic);
    const read: BusRecord[] = [];
    await readToEnd(bus, { topic: outTopic, group: group() }, (r) => read.push(r));
    expect(read.filter((r) => dec.decode(r.value).startsWith(tag)).length).toBeGreaterThanOrEqual(3);
    for (const r of read) expect(r.offset).toBeLessThan(end[r.partition]!);
    // From given offsets: nothing before them is handed; from the end, nothing at all.
    const from = end.map((e) => Math.max(0, e - 2));
    const tail: BusRecord[] = [];
    await readToEnd(bus, { topic: outTopic, group: group(), from: () => from }, (r) => tail.push(r));
    for (const r of tail) expect(r.offset).toBeGreaterThanOrEqual(from[r.partition]!);
    const none: BusRecord[] = [];
    await readToEnd(bus, { topic: outTopic, group: group(), from: (e) => [...e] }, (r) => none.push(r));
    expect(none).toEqual([]);
    // A reader that follows: caught up at the same end, then handed what comes after it.
    const later: string[] = [];
    const reader = new TopicReader(bus, { topic: outTopic, group: group() }, (r) => later.push(dec.decode(r.value)));
    await reader.start();
    await reader.caughtUp;
    expect(reader.isCaughtUp).toBe(true);
    expect(reader.next.map((n, p) => n >= end[p]!)).toEqual(end.map(() => true));
    await bus.publish(outTopic, [{ key: "after", value: `${tag}-after` }]);
    for (let i = 0; i < 200 && !later.includes(`${tag}-after`); i++) await Bun.sleep(50);
    await reader.stop();
    expect(later).toContain(`${tag}-after`);
  });
}
