import { afterEach, describe, expect, test } from "bun:test";
import { lineLogger, silentLogger } from "../../src/log.ts";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLogBus } from "../../src/adapters/embedded/log-bus.ts";
import { KafkaBus } from "../../src/adapters/kafka/kafka-bus.ts";
import { LocalLake } from "../../src/adapters/embedded/local-lake.ts";
import { lakePath, parseLakePath } from "../../src/domain/lake-layout.ts";
import { deploymentOrderFor, encodeDeploymentOrder } from "../../src/domain/deployment-order.ts";
import { encodeReport, type Report } from "../../src/domain/report.ts";
import { encodeIncidentEvent, type IncidentEvent } from "../../src/domain/incident-event.ts";
import { decodeParquet, encodeIncidentEvents, encodeReports, lakeIncidentEvent } from "../../src/formats/parquet.ts";
import { incidentHistories } from "../../tests/support/incident-fixture.ts";
import { staleGroupCoordinator } from "../../tests/support/kafka-faults.ts";
import { partitionFor, TOPICS } from "../../src/ports/bus.ts";
import { metrics } from "../../src/metrics.ts";
import { LakeBusMismatchError } from "../../src/domain/lake-binding.ts";
import { adoptBus } from "./bus-binding.ts";
import { encodeLink, linkPath } from "./chain.ts";
import { startSink } from "./sink.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "acu-sink-"));
  dirs.push(dir);
  const bus = await EmbeddedLogBus.open(join(dir, "bus"), { [TOPICS.reports]: 3, [TOPICS.alerts]: 3, [TOPICS.deadLetters]: 1, [TOPICS.incidentEvents]: 3 });
  const lake = new LocalLake(join(dir, "lake"));
  return { dir, bus, lake };
}

const report = (i: number, id = `r${i}`): Report => ({
  reportId: id,
  studentId: `s${i % 50}`,
  exerciseId: "ex",
  score: i % 100,
  latitude: 48,
  longitude: 2,
  timestamp: 1764230400000 + i,
  region: "Île-de-France",
});

async function lakeRows(lake: LocalLake) {
  const rows: Array<{ reportId: string; partition: number; offset: number }> = [];
  for (const f of await lake.list("reports/")) {
    for (const r of decodeParquet(await lake.read(f.path))) {
      const j = r!.toJSON();
      rows.push({ reportId: j.reportId as string, partition: j.partition as number, offset: Number(j.offset) });
    }
  }
  return rows;
}

async function until(check: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(50);
  }
}

test("every report lands in the lake once, in files named after their offsets", async () => {
  const { bus, lake } = await setup();
  await bus.publish(
    TOPICS.reports,
    Array.from({ length: 10_000 }, (_, i) => ({ key: `s${i % 50}`, value: encodeReport(report(i)) })),
  );
  const sink = await startSink({ bus, lake, log: silentLogger, options: { flushAgeMs: 100, flushRecords: 3000 } });
  await until(async () => (await lakeRows(lake)).length >= 10_000);
  await sink.stop();
  const rows = await lakeRows(lake);
  expect(rows.length).toBe(10_000);
  expect(new Set(rows.map((r) => r.reportId)).size).toBe(10_000);
  for (const f of await lake.list("reports/"))
    expect(f.path).toMatch(/^reports\/date=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/student-reports-p\d-\d{12}-\d{12}\.parquet$/);
  await bus.close();
});

test("with the lake away, the sink holds at most its byte bound plus one batch, then writes every report once when the lake is back", async () => {
  const { dir, bus, lake } = await setup();
  const lines: string[] = [];
  const bound = 256 * 1024;
  const sink = await startSink({
    bus,
    lake,
    log: lineLogger((l) => lines.push(l)),
    options: { flushAgeMs: 100, flushRecords: 1_000_000, bufferBytes: bound },
  });
  // The lake's folder replaced by a file: every write fails (ENOTDIR), as with HDFS away.
  const root = join(dir, "lake");
  mkdirSync(root, { recursive: true });
  renameSync(root, `${root}.away`);
  writeFileSync(root, "not a folder");
  const n = 80_000;
  let bytes = 0;
  const messages = Array.from({ length: n }, (_, i) => {
    const m = { key: `s${i % 50}`, value: encodeReport(report(i)) };
    bytes += Buffer.byteLength(m.value) + m.key.length;
    return m;
  });
  for (let i = 0; i < n; i += 5000) await bus.publish(TOPICS.reports, messages.slice(i, i + 5000));
  let peak = 0;
  const until3s = Date.now() + 3000;
  while (Date.now() < until3s) {
    peak = Math.max(peak, (await metrics.sinkBufferedBytes.get()).values[0]?.value ?? 0);
    await Bun.sleep(5);
  }
  // One batch is at most 5,000 records (the sink's maxBatch): ~0.9 MB of these reports, far below the ~12 MB sent.
  const batchBytes = Math.ceil((bytes / n) * 5000);
  expect(bytes).toBeGreaterThan(10 * (bound + batchBytes));
  expect(peak).toBeGreaterThan(0);
  expect(peak).toBeLessThanOrEqual(bound + batchBytes);
  expect(lines.filter((l) => l.includes("sink: buffer full")).length).toBe(1);
  // The lake back: everything lands, once.
  rmSync(root);
  renameSync(`${root}.away`, root);
  await until(async () => (await lakeRows(lake)).length >= n, 60_000);
  await sink.stop();
  const rows = await lakeRows(lake);
  expect(rows.length).toBe(n);
  expect(new Set(rows.map((r) => r.reportId)).size).toBe(n);
  await bus.close();
}, 90_000);

test("a file written before a crash but not committed is neither lost nor duplicated", async () => {
  const { bus, lake } = await setup();
  const reports = Array.from({ length: 600 }, (_, i) => report(i));
  await bus.publish(
    TOPICS.reports,
    reports.map((r) => ({ key: r.studentId, value: encodeReport(r) })),
  );
  // What a sink that died between its write and its commit leaves: partition 0's first 100 records in a file.
  const p0 = reports.filter((r) => partitionFor(r.studentId, 3) === 0).slice(0, 100);
  await lake.write(
    lakePath({ dataset: "reports", topic: TOPICS.reports, partition: 0, firstOffset: 0, lastOffset: 99 }, Date.now()),
    encodeReports(p0.map((r, offset) => ({ ...r, partition: 0, offset }))),
  );
  const sink = await startSink({ bus, lake, log: silentLogger, options: { flushAgeMs: 50, flushRecords: 10_000 } });
  await until(async () => (await lakeRows(lake)).length >= 600);
  await sink.stop();
  const rows = await lakeRows(lake);
  expect(rows.length).toBe(600);
  expect(new Set(rows.map((r) => `${r.partition}:${r.offset}`)).size).toBe(600);
  await bus.close();
});

test("a report resent by a laptop (same id, new bus position) is kept once, even across a restart", async () => {
  const { dir, bus, lake } = await setup();
  await bus.publish(
    TOPICS.reports,
    [report(1), report(2)].map((r) => ({ key: r.studentId, value: encodeReport(r) })),
  );
  let sink = await startSink({ bus, lake, log: silentLogger, options: { flushAgeMs: 50, flushRecords: 10_000 } });
  await until(async () => (await lakeRows(lake)).length >= 2);
  await bus.publish(
    TOPICS.reports,
    [report(1), report(3)].map((r) => ({ key: r.studentId, value: encodeReport(r) })),
  );
  await until(async () => (await lakeRows(lake)).length >= 3);
  await sink.stop();
  await bus.close();
  const again = await EmbeddedLogBus.open(join(dir, "bus"), {});
  await again.publish(
    TOPICS.reports,
    [report(2), report(4)].map((r) => ({ key: r.studentId, value: encodeReport(r) })),
  );
  sink = await startSink({ bus: again, lake, log: silentLogger, options: { flushAgeMs: 50, flushRecords: 10_000 } });
  await until(async () => (await lakeRows(lake)).length >= 4);
  await Bun.sleep(200);
  await sink.stop();
  expect((await lakeRows(lake)).map((r) => r.reportId).sort()).toEqual(["r1", "r2", "r3", "r4"]);
  await again.close();
});

test("two students' reports with the same report id are both kept, and so are their orders; a resend of each is dropped, even across a restart", async () => {
  const { dir, bus, lake } = await setup();
  // Laptops choose report ids: students s-a and s-b both sent a "r-7".
  const a = { ...report(1, "r-7"), studentId: "s-a" };
  const b = { ...report(2, "r-7"), studentId: "s-b" };
  const publish = async (target: EmbeddedLogBus, reports: Report[]) => {
    await target.publish(
      TOPICS.reports,
      reports.map((r) => ({ key: r.studentId, value: encodeReport(r) })),
    );
    await target.publish(
      TOPICS.alerts,
      reports.map((r) => ({ key: r.studentId, value: encodeDeploymentOrder(deploymentOrderFor(r, 50, 1)) })),
    );
  };
  const rows = async (dataset: "reports" | "deployments") => {
    const out: string[] = [];
    for (const f of await lake.list(`${dataset}/`)) for (const r of decodeParquet(await lake.read(f.path))) out.push(`${r!.studentId}/${r!.reportId}`);
    return out.sort();
  };
  // Each phase ends with a new report of s-a, published after the others (same partition): waited for.
  const marker = (id: string) => ({ ...report(3, id), studentId: "s-a" });
  const landed = async (m: Report) => (await rows("reports")).includes(`s-a/${m.reportId}`) && (await rows("deployments")).includes(`s-a/${m.reportId}`);
  await publish(bus, [a, b, a, marker("m-1")]);
  let sink = await startSink({ bus, lake, log: silentLogger, options: { flushAgeMs: 50, flushRecords: 10_000 } });
  await until(() => landed(marker("m-1")));
  await sink.stop();
  await bus.close();
  // After a restart (the windows seeded from the lake): both resent.
  const again = await EmbeddedLogBus.open(join(dir, "bus"), {});
  await publish(again, [b, a, marker("m-2")]);
  sink = await startSink({ bus: again, lake, log: silentLogger, options: { flushAgeMs: 50, flushRecords: 10_000 } });
  await until(() => landed(marker("m-2")));
  await Bun.sleep(200);
  await sink.stop();
  await again.close();
  const expected = ["s-a/m-1", "s-a/m-2", "s-a/r-7", "s-b/r-7"];
  expect(await rows("reports")).toEqual(expected);
  expect(await rows("deployments")).toEqual(expected);
});

test("stop writes and commits what is buffered", async () => {
  const { dir, bus, lake } = await setup();
  await bus.publish(
    TOPICS.reports,
    Array.from({ length: 50 }, (_, i) => ({ key: `s${i}`, value: encodeReport(report(i)) })),
  );
  const sink = await startSink({ bus, lake, log: silentLogger, options: { flushAgeMs: 600_000, flushRecords: 10_000 } });
  await Bun.sleep(300);
  expect((await lakeRows(lake)).length).toBe(0);
  await sink.stop();
  expect((await lakeRows(lake)).length).toBe(50);
  expect(
    bus.committedOffset("acu-sink", TOPICS.reports, 0)! +
      bus.committedOffset("acu-sink", TOPICS.reports, 1)! +
      bus.committedOffset("acu-sink", TOPICS.reports, 2)!,
  ).toBe(50);
  await bus.close();
  void dir;
});

test("malformed report messages are left out of the lake, their offsets still covered and committed", async () => {
  const { bus, lake } = await setup();
  const good = Array.from({ length: 300 }, (_, i) => ({ key: "s1", value: encodeReport(report(i)) }));
  // Decoded when they arrive (not when the file is written): the bad ones must still only be skipped.
  const bad = [
    { key: "s1", value: "{" },
    { key: "s1", value: JSON.stringify({ ...report(900), score: 101 }) },
    { key: "s1", value: new Uint8Array([0xff]) },
  ];
  await bus.publish(TOPICS.reports, [...good.slice(0, 150), ...bad, ...good.slice(150)]);
  const lines: string[] = [];
  const sink = await startSink({ bus, lake, log: lineLogger((l) => lines.push(l)), options: { flushAgeMs: 100, flushRecords: 100_000 } });
  await until(async () => (await lakeRows(lake)).length >= 300);
  await sink.stop();
  const rows = await lakeRows(lake);
  expect(rows.map((r) => r.reportId).sort()).toEqual(good.map((_, i) => `r${i}`).sort());
  expect(lines.some((l) => l.includes("skipped 3 malformed report message(s)"))).toBe(true);
  // The file names cover every offset, bad ones included: a restart resumes after them.
  const probe = await bus.consume({ group: "acu-sink", topics: [TOPICS.reports], commit: "manual" }, async () => {});
  expect(await probe.lag()).toBe(0);
  await probe.stop();
  await bus.close();
});

/** The bus, with the sink consumer's commits failing `failures` times (a Kafka rebalance in progress). */
function failingCommits(bus: EmbeddedLogBus, failures: number): { bus: EmbeddedLogBus; failed: () => number } {
  let failed = 0;
  const wrapped = new Proxy(bus, {
    get(target, key) {
      if (key === "consume") {
        return async (...args: Parameters<EmbeddedLogBus["consume"]>) => {
          const consumer = await target.consume(...args);
          return new Proxy(consumer, {
            get(c, k) {
              if (k === "commit")
                return async (offsets: Parameters<typeof consumer.commit>[0]) => {
                  if (failed < failures) {
                    failed++;
                    throw new Error("The group is rebalancing, so a rejoin is needed");
                  }
                  return c.commit(offsets);
                };
              const v = Reflect.get(c, k);
              return typeof v === "function" ? v.bind(c) : v;
            },
          });
        };
      }
      const v = Reflect.get(target, key);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { bus: wrapped, failed: () => failed };
}

test("a file published whose commit fails is not written again (a rewrite dropped every row as a resend of itself)", async () => {
  const { bus, lake } = await setup();
  await bus.publish(
    TOPICS.reports,
    Array.from({ length: 900 }, (_, i) => ({ key: `s${i % 50}`, value: encodeReport(report(i)) })),
  );
  const { bus: flaky, failed } = failingCommits(bus, 6);
  const lines: string[] = [];
  const sink = await startSink({ bus: flaky, lake, log: lineLogger((l) => lines.push(l)), options: { flushAgeMs: 50, flushRecords: 10_000 } });
  await until(async () => (await lakeRows(lake)).length >= 900 && failed() >= 6);
  await Bun.sleep(500); // timer flushes after the failed commits: the published files must stay as they are
  await sink.stop();
  const rows = await lakeRows(lake);
  expect(rows.length).toBe(900);
  expect(new Set(rows.map((r) => r.reportId)).size).toBe(900);
  expect(new Set(rows.map((r) => `${r.partition}:${r.offset}`)).size).toBe(900);
  expect(lines.some((l) => l.includes("(its file is in the lake) failed, will retry"))).toBe(true);
  // The commits are retried: nothing left to consume.
  const probe = await bus.consume({ group: "acu-sink", topics: [TOPICS.reports], commit: "manual" }, async () => {});
  expect(await probe.lag()).toBe(0);
  await probe.stop();
  await bus.close();
});

// ---- several sinks over one lake ---------------------------------------------------------------------

/** The bus as seen by a consumer group of another name: a second sink then reads every partition the first reads. */
function asGroup(bus: EmbeddedLogBus, group: string): EmbeddedLogBus {
  return new Proxy(bus, {
    get(target, key) {
      if (key === "consume")
        return (options: Parameters<EmbeddedLogBus["consume"]>[0], handle: Parameters<EmbeddedLogBus["consume"]>[1]) =>
          target.consume({ ...options, group }, handle);
      const v = Reflect.get(target, key);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** Pairs of files of one partition whose offset ranges overlap (each file's name carries its range). */
async function overlappingFiles(lake: LocalLake, dataset: string): Promise<string[]> {
  const byPartition = new Map<string, Array<{ first: number; last: number; path: string }>>();
  for (const f of await lake.list(`${dataset}/`)) {
    const n = parseLakePath(f.path)!;
    const k = `${n.topic}/${n.partition}`;
    byPartition.set(k, [...(byPartition.get(k) ?? []), { first: n.firstOffset, last: n.lastOffset, path: f.path }]);
  }
  const out: string[] = [];
  for (const files of byPartition.values()) {
    files.sort((a, b) => a.first - b.first);
    for (let i = 1; i < files.length; i++) if (files[i]!.first <= files[i - 1]!.last) out.push(`${files[i - 1]!.path} / ${files[i]!.path}`);
  }
  return out;
}

test("two sinks reading the same partitions at once (two groups: more overlap than any rebalance makes) publish every bus position once, no two files of a partition overlapping", async () => {
  const { bus, lake } = await setup();
  const n = 12_000;
  const lines: string[] = [];
  // Different file sizes and ages: each claims starts the other already claimed, from knowledge gone stale.
  const a = await startSink({ bus, lake, log: silentLogger, options: { flushAgeMs: 40, flushRecords: 700 } });
  const b = await startSink({ bus: asGroup(bus, "acu-sink-b"), lake, log: lineLogger((l) => lines.push(l)), options: { flushAgeMs: 70, flushRecords: 1100 } });
  for (let i = 0; i < n; i += 1500) {
    await bus.publish(TOPICS.reports, reportMessages(i, 1500));
    await Bun.sleep(30);
  }
  const committed = (group: string) => [0, 1, 2].reduce((s, p) => s + (bus.committedOffset(group, TOPICS.reports, p) ?? 0), 0);
  await until(async () => committed("acu-sink") === n && committed("acu-sink-b") === n, 30_000);
  await Promise.all([a.stop(), b.stop()]);
  const rows = await lakeRows(lake);
  expect(await overlappingFiles(lake, "reports")).toEqual([]);
  expect(rows.length).toBe(n);
  expect(new Set(rows.map((r) => `${r.partition}:${r.offset}`)).size).toBe(n);
  expect(new Set(rows.map((r) => r.reportId)).size).toBe(n);
  // Both wrote files, and the second met starts the first had claimed.
  expect(lines.some((l) => l.includes("was claimed by another writer"))).toBe(true);
  await bus.close();
}, 60_000);

test("a chain link whose file is missing (its writer died between link and file) is published again with exactly its range, at its path", async () => {
  const { bus, lake } = await setup();
  await bus.publish(TOPICS.reports, reportMessages(0, 900));
  const path = lakePath({ dataset: "reports", topic: TOPICS.reports, partition: 0, firstOffset: 0, lastOffset: 99 }, Date.now());
  expect(await lake.createExclusive(linkPath(TOPICS.reports, 0, 0), encodeLink({ first: 0, last: 99, path }))).toBe(true);
  const lines: string[] = [];
  const sink = await startSink({ bus, lake, log: lineLogger((l) => lines.push(l)), options: { flushAgeMs: 50, flushRecords: 10_000 } });
  await until(async () => (await lakeRows(lake)).length >= 900);
  await sink.stop();
  const held = decodeParquet(await lake.read(path)).getChild("offset")!;
  expect(Array.from(held, Number)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  expect(await overlappingFiles(lake, "reports")).toEqual([]);
  const rows = await lakeRows(lake);
  expect(rows.length).toBe(900);
  expect(new Set(rows.map((r) => `${r.partition}:${r.offset}`)).size).toBe(900);
  expect(lines.some((l) => l.includes("chain link whose file is missing"))).toBe(true);
  await bus.close();
});

// ---- incident events --------------------------------------------------------------------------------

async function lakeIncidents(lake: LocalLake) {
  const rows: Array<Record<string, unknown>> = [];
  for (const f of await lake.list("incidents/")) for (const r of decodeParquet(await lake.read(f.path))) rows.push(r!.toJSON());
  return rows;
}

const eventMessages = (events: IncidentEvent[]) => events.map((e) => ({ key: e.incidentId, value: encodeIncidentEvent(e) }));

/** A lake row as the event it was made from: the times nested again, no bus position, plain numbers. */
function asEvent(row: Record<string, unknown>): IncidentEvent {
  const n = (v: unknown) => (v === null ? null : Number(v));
  const { partition: _p, offset: _o, openedAt, assignedAt, acknowledgedAt, enRouteAt, onSiteAt, resolvedAt, cancelledAt, at, ...rest } = row;
  return {
    ...(rest as Omit<IncidentEvent, "times" | "at">),
    at: Number(at),
    times: {
      openedAt: Number(openedAt),
      assignedAt: n(assignedAt),
      acknowledgedAt: n(acknowledgedAt),
      enRouteAt: n(enRouteAt),
      onSiteAt: n(onSiteAt),
      resolvedAt: n(resolvedAt),
      cancelledAt: n(cancelledAt),
    },
  };
}

test("every incident event lands in incidents/ once: a republished event is dropped by its id, even across a restart; malformed ones are skipped with a line each", async () => {
  const { dir, bus, lake } = await setup();
  const events = incidentHistories(300, 7);
  const [first, later] = [events.slice(0, 900), events.slice(900)];
  // A relay that crashed between publishing and marking publishes the same events again (same ids).
  const republished = first.filter((_, i) => i % 10 === 0);
  const bad = [
    { key: "x", value: "{" },
    { key: "x", value: JSON.stringify({ ...first[0]!, seq: 0 }) },
    { key: "x", value: new Uint8Array([0xff]) },
  ];
  await bus.publish(TOPICS.incidentEvents, [...eventMessages(first), ...bad, ...eventMessages(republished)]);
  const lines: string[] = [];
  let sink = await startSink({ bus, lake, log: lineLogger((l) => lines.push(l)), options: { flushAgeMs: 50, flushRecords: 400 } });
  await until(async () => (await lakeIncidents(lake)).length >= first.length);
  await sink.stop();
  await bus.close();

  const again = await EmbeddedLogBus.open(join(dir, "bus"), {});
  await again.publish(TOPICS.incidentEvents, eventMessages([...republished, ...later]));
  sink = await startSink({ bus: again, lake, log: silentLogger, options: { flushAgeMs: 50, flushRecords: 10_000 } });
  await until(async () => (await lakeIncidents(lake)).length >= events.length);
  await Bun.sleep(200);
  await sink.stop();

  const rows = await lakeIncidents(lake);
  expect(rows.length).toBe(events.length);
  // The lake holds the events themselves, field for field.
  const byId = new Map(rows.map((r) => [r.eventId as string, asEvent(r)]));
  expect(byId.size).toBe(events.length);
  for (const e of events) expect(byId.get(e.eventId)).toEqual(e);
  expect(lines.filter((l) => l.includes("skipped malformed incident event at incident-events/")).length).toBe(3);
  expect(lines.some((l) => l.includes("seq"))).toBe(true);
  for (const f of await lake.list("incidents/"))
    expect(f.path).toMatch(/^incidents\/date=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/incident-events-p\d-\d{12}-\d{12}\.parquet$/);
  // Every offset, the malformed and dropped ones included, is covered by a file and committed.
  const probe = await again.consume({ group: "acu-sink", topics: [TOPICS.incidentEvents], commit: "manual" }, async () => {});
  expect(await probe.lag()).toBe(0);
  await probe.stop();
  await again.close();
});

test("an incidents file written before a crash but not committed is neither lost nor duplicated", async () => {
  const { bus, lake } = await setup();
  const events = incidentHistories(120, 8);
  await bus.publish(TOPICS.incidentEvents, eventMessages(events));
  // What a sink that died between its write and its commit leaves: partition 1's first 40 events in a file.
  const p1 = events.filter((e) => partitionFor(e.incidentId, 3) === 1).slice(0, 40);
  await lake.write(
    lakePath({ dataset: "incidents", topic: TOPICS.incidentEvents, partition: 1, firstOffset: 0, lastOffset: 39 }, Date.now()),
    encodeIncidentEvents(p1.map((e, offset) => lakeIncidentEvent(e, 1, offset))),
  );
  const sink = await startSink({ bus, lake, log: silentLogger, options: { flushAgeMs: 50, flushRecords: 10_000 } });
  await until(async () => (await lakeIncidents(lake)).length >= events.length);
  await Bun.sleep(200);
  await sink.stop();
  const rows = await lakeIncidents(lake);
  expect(rows.length).toBe(events.length);
  expect(new Set(rows.map((r) => `${r.partition}:${Number(r.offset)}`)).size).toBe(events.length);
  expect(new Set(rows.map((r) => r.eventId)).size).toBe(events.length);
  await bus.close();
});

/** `n` reports from `from`, as ingest would publish them. */
const reportMessages = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: `s${(from + i) % 50}`, value: encodeReport(report(from + i)) }));

async function sinkUntil(bus: EmbeddedLogBus | KafkaBus, lake: LocalLake, rows: number) {
  const sink = await startSink({ bus, lake, log: silentLogger, options: { flushAgeMs: 50, flushRecords: 10_000 } });
  await until(async () => (await lakeRows(lake)).length >= rows, 60_000);
  await sink.stop();
}

test("a fresh bus beside an old lake is refused at start, naming both; once adopted the lake goes on after its offsets, nothing overwritten", async () => {
  const { dir, bus, lake } = await setup();
  await bus.publish(TOPICS.reports, reportMessages(0, 900));
  await sinkUntil(bus, lake, 900);
  const oldFiles = await lake.list("reports/");
  await bus.close();
  // A fresh data dir's log (offsets from 0 again): resuming "after the lake's highest offset" would skip 900 reports.
  const fresh = await EmbeddedLogBus.open(join(dir, "bus2"), { [TOPICS.reports]: 3, [TOPICS.alerts]: 3, [TOPICS.deadLetters]: 1, [TOPICS.incidentEvents]: 3 });
  try {
    await fresh.publish(TOPICS.reports, reportMessages(900, 600));
    const before = (await bus.identity([TOPICS.reports])).cluster;
    const after = (await fresh.identity([TOPICS.reports])).cluster;
    expect(before).not.toBe(after);
    const refused = startSink({ bus: fresh, lake, log: silentLogger, options: { flushAgeMs: 50, flushRecords: 10_000 } });
    await expect(refused).rejects.toBeInstanceOf(LakeBusMismatchError);
    await expect(refused).rejects.toThrow(new RegExp(`written from embedded ${before}.*reads embedded ${after}.*acu lake adopt-bus`));
    expect((await lakeRows(lake)).length).toBe(900);
    // Adopted: the new bus's offsets come after the lake's, every old file kept as it was.
    const { epoch } = await adoptBus(lake, fresh, [TOPICS.reports, TOPICS.alerts, TOPICS.incidentEvents]);
    expect(Object.keys(epoch.base).length).toBe(3);
    await sinkUntil(fresh, lake, 1500);
    const rows = await lakeRows(lake);
    expect(rows.length).toBe(1500);
    expect(new Set(rows.map((r) => r.reportId)).size).toBe(1500);
    expect(new Set(rows.map((r) => `${r.partition}:${r.offset}`)).size).toBe(1500);
    const files = await lake.list("reports/");
    for (const f of oldFiles) expect(files).toContainEqual(f);
    // And a second adoption with nothing to adopt is refused.
    await expect(adoptBus(lake, fresh, [TOPICS.reports])).rejects.toThrow("nothing to adopt");
  } finally {
    await fresh.close();
  }
}, 60_000);

test("a lake ahead of its bus's end (the same log id, fewer records: a restored or re-created log) is refused, naming the partitions", async () => {
  const { dir, bus, lake } = await setup();
  await bus.publish(TOPICS.reports, reportMessages(0, 300));
  await sinkUntil(bus, lake, 300);
  await bus.close();
  const other = join(dir, "bus-restored");
  mkdirSync(other, { recursive: true });
  // The same id as the lake's bus, a log holding less.
  writeFileSync(join(other, "bus-id"), readFileSync(join(dir, "bus", "bus-id")));
  const restored = await EmbeddedLogBus.open(other, { [TOPICS.reports]: 3, [TOPICS.alerts]: 3, [TOPICS.deadLetters]: 1, [TOPICS.incidentEvents]: 3 });
  try {
    await restored.publish(TOPICS.reports, reportMessages(300, 10));
    await expect(startSink({ bus: restored, lake, log: silentLogger, options: { flushAgeMs: 50, flushRecords: 10_000 } })).rejects.toThrow(
      /the lake is ahead of the bus .*student-reports\/\d: the lake holds offset \d+, the bus ends at \d+/,
    );
  } finally {
    await restored.close();
  }
});

const BROKERS = process.env.ACU_KAFKA_BROKERS ?? "";

describe.skipIf(!BROKERS)("on Kafka", () => {
  test("another ACU_KAFKA_NAMESPACE on the same cluster is another bus: refused at start, naming both topic names", async () => {
    const dir = mkdtempSync(join(tmpdir(), "acu-sink-kafka-"));
    dirs.push(dir);
    const run = `${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 6)}`;
    const partitions = { [TOPICS.reports]: 2, [TOPICS.alerts]: 2, [TOPICS.incidentEvents]: 2 };
    const lake = new LocalLake(join(dir, "lake"));
    const first = await KafkaBus.open({ brokers: BROKERS.split(","), partitions, namespace: `acu-sink-ns-a-${run}.` });
    try {
      await first.publish(TOPICS.reports, reportMessages(0, 200));
      await sinkUntil(first, lake, 200);
    } finally {
      await first.close();
    }
    const second = await KafkaBus.open({ brokers: BROKERS.split(","), partitions, namespace: `acu-sink-ns-b-${run}.` });
    try {
      await expect(startSink({ bus: second, lake, log: silentLogger, options: { flushAgeMs: 50, flushRecords: 10_000 } })).rejects.toThrow(
        `student-reports as acu-sink-ns-a-${run}.student-reports`,
      );
    } finally {
      await second.close();
    }
  }, 120_000);

  test("incident events, a republished copy among them, land in incidents/ once each, every offset committed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "acu-sink-kafka-"));
    dirs.push(dir);
    const namespace = `acu-sink-incidents-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 6)}.`;
    const partitions = { [TOPICS.reports]: 2, [TOPICS.alerts]: 2, [TOPICS.incidentEvents]: 3 };
    const bus = await KafkaBus.open({ brokers: BROKERS.split(","), partitions, namespace });
    try {
      const lake = new LocalLake(join(dir, "lake"));
      const events = incidentHistories(150, 9);
      await bus.publish(TOPICS.incidentEvents, eventMessages([...events, ...events.filter((_, i) => i % 7 === 0)]));
      const sink = await startSink({ bus, lake, log: silentLogger, options: { flushAgeMs: 200, flushRecords: 10_000 } });
      await until(async () => (await lakeIncidents(lake)).length >= events.length, 60_000);
      await Bun.sleep(500);
      await sink.stop();
      const rows = await lakeIncidents(lake);
      expect(rows.length).toBe(events.length);
      expect(new Map(rows.map((r) => [r.eventId as string, asEvent(r)]))).toEqual(new Map(events.map((e) => [e.eventId, e])));
      const probe = await bus.consume({ group: "acu-sink", topics: [TOPICS.incidentEvents], commit: "manual" }, async () => {});
      expect(await probe.lag()).toBe(0);
      await probe.stop();
    } finally {
      await bus.close();
    }
  }, 120_000);

  test("commits refused by a broker that no longer coordinates the sink's group: the member is replaced, every report lands once, every offset committed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "acu-sink-kafka-"));
    dirs.push(dir);
    const namespace = `acu-sink-coordinator-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 6)}.`;
    const partitions = { [TOPICS.reports]: 2, [TOPICS.alerts]: 2, [TOPICS.incidentEvents]: 2 };
    const lines: string[] = [];
    const bus = await KafkaBus.open({ brokers: BROKERS.split(","), partitions, namespace, log: lineLogger((l) => lines.push(l)) });
    const stale = staleGroupCoordinator(bus.name("acu-sink"));
    try {
      const lake = new LocalLake(join(dir, "lake"));
      await bus.publish(
        TOPICS.reports,
        Array.from({ length: 600 }, (_, i) => ({ key: `s${i % 50}`, value: encodeReport(report(i)) })),
      );
      const sink = await startSink({ bus, lake, log: lineLogger((l) => lines.push(l)), options: { flushAgeMs: 200, flushRecords: 10_000 } });
      await until(async () => (await lakeRows(lake)).length >= 600 && lines.some((l) => l.includes("consumer replaced")), 60_000);
      // More reports after the replacement, all on one partition (one key): the new member writes and commits
      // them; the other partition gets no new file, and its offsets are committed from the lake.
      await bus.publish(
        TOPICS.reports,
        Array.from({ length: 400 }, (_, i) => ({ key: "s0", value: encodeReport(report(600 + i)) })),
      );
      await until(async () => (await lakeRows(lake)).length >= 1000, 60_000);
      await Bun.sleep(1000);
      await sink.stop();
      const rows = await lakeRows(lake);
      expect(rows.length).toBe(1000);
      expect(new Set(rows.map((r) => r.reportId)).size).toBe(1000);
      expect(new Set(rows.map((r) => `${r.partition}:${r.offset}`)).size).toBe(1000);
      expect(stale.refused()).toBeGreaterThan(0);
      expect(lines.some((l) => l.includes("consumer stopped (the group coordinator moved); replacing it"))).toBe(true);
      stale.restore();
      // The files published before the replacement are committed too (by the new member, from the lake).
      const probe = await bus.consume({ group: "acu-sink", topics: [TOPICS.reports], commit: "manual" }, async () => {});
      expect(await probe.lag()).toBe(0);
      await probe.stop();
    } finally {
      stale.restore();
      await bus.close();
    }
  }, 120_000);
});
