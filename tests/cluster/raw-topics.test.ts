import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { Kafka, logLevel, type Admin, type Producer } from "kafkajs";
import { LocalLake } from "../../src/adapters/embedded/local-lake.ts";
import { alertIdFor } from "../../src/domain/deployment-order.ts";
import { decodeReport, deriveReportId } from "../../src/domain/report.ts";
import { muteTimeoutNegativeWarnings } from "../../src/adapters/kafka/warnings.ts";
import { cleanup, eventually, operator, ROOT, startAcu, tempDir, type AcuProcess } from "../support/acu.ts";
import { clusterEnv, isolatedRun } from "../support/cluster.ts";
import { readLakeFrom } from "../support/lake.ts";

setDefaultTimeout(240_000);
const cluster = clusterEnv();
// kafkajs's own clients of this test (the external producer, the audits), as acu's bus does.
muteTimeoutNegativeWarnings();

/** The records of a topic as a downstream consumer reads them (read_committed), once nothing new came for `settleMs`. */
async function committed(brokers: string, topic: string, settleMs = 3000): Promise<Array<{ key: string; value: string; partition: number }>> {
  const kafka = new Kafka({ brokers: brokers.split(","), logLevel: logLevel.NOTHING, clientId: "raw-audit" });
  const consumer = kafka.consumer({ groupId: `raw-audit-${Date.now()}-${Math.random()}`, readUncommitted: false, maxWaitTimeInMs: 200 });
  const out: Array<{ key: string; value: string; partition: number }> = [];
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      last = Date.now();
      out.push({ key: message.key?.toString() ?? "", value: message.value?.toString() ?? "", partition });
    },
  });
  while (Date.now() - last < settleMs) await Bun.sleep(200);
  await consumer.disconnect();
  return out;
}

/** The lake's reports, once every one of `ids` (studentId/reportId) is among them. */
function lakeOnceWith(lake: LocalLake, ids: ReadonlySet<string>, what: string) {
  return eventually(
    what,
    async () => {
      const { rows } = await readLakeFrom(lake, "reports");
      return rows.filter((r) => ids.has(`${r.studentId}/${r.reportId}`)).length >= ids.size ? rows : null;
    },
    120_000,
    1000,
  );
}

/** The alert ids of a topic's committed orders, once every one of `ids` is among them. */
function ordersOnceWith(brokers: string, topic: string, ids: ReadonlySet<string>, what: string) {
  return eventually(
    what,
    async () => {
      const o = (await committed(brokers, topic, 1500)).map((x) => JSON.parse(x.value).alertId as string);
      return o.filter((id) => ids.has(id)).length >= ids.size ? o : null;
    },
    60_000,
    500,
  );
}

/** Why the alert role refuses a message of student-reports. */
function reasonOf(value: string): string {
  try {
    decodeReport(value);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${value} is a valid report`);
}

/** Records of the raw topics the mover's group has committed. */
async function movedSoFar(admin: Admin, group: string, topics: string[]): Promise<number> {
  const answer = await admin.fetchOffsets({ groupId: group, topics });
  return answer.reduce((n, t) => n + t.partitions.reduce((m, p) => m + Math.max(0, Number(p.offset)), 0), 0);
}

interface Sent {
  studentId: string;
  exerciseId: string;
  score: number;
  timestamp: number;
}

/**
 * Records for Kafka's console producer, one "key|value" line each: 40 of the original system's shape
 * (exercise 7, keyed by the constant string) and 20 laptop records; the report ids they must get and the
 * alert ids of those below the threshold of 50.
 */
function javaRecords(base: number): { original: string[]; laptops: string[]; ids: Set<string>; failing: Set<string> } {
  const original: string[] = [];
  const laptops: string[] = [];
  const sent: Sent[] = [];
  for (let i = 0; i < 40; i++) {
    const rec = { login: `jcp-o${i}`, latitude: 43.6, longitude: 1.44, exercise: 7, score: i * 2, timestamp: base + 90_000 + i };
    original.push(`student_report|${JSON.stringify(rec)}`);
    sent.push({ studentId: rec.login, exerciseId: "7", score: rec.score, timestamp: rec.timestamp * 1000 });
  }
  for (let i = 0; i < 20; i++) {
    const rec = { studentId: `jcp-l${i}`, exerciseId: "c00.ex00", score: i * 5, latitude: 48.85, longitude: 2.35, timestamp: (base + 90_000) * 1000 + i };
    laptops.push(`${rec.studentId}|${JSON.stringify(rec)}`);
    sent.push(rec);
  }
  return {
    original,
    laptops,
    ids: new Set(sent.map((s) => `${s.studentId}/${deriveReportId(s)}`)),
    failing: new Set(sent.filter((s) => s.score < 50).map((s) => alertIdFor(s.studentId, deriveReportId(s)))),
  };
}

/** Writes "key|value" lines to a topic with Kafka's own console producer (acks=all), as a Java service would. */
function consoleProduce(brokers: string, topic: string, lines: string[]): void {
  const p = Bun.spawnSync({
    cmd: [
      join(ROOT, "scripts/cluster"),
      "kafka-class",
      "org.apache.kafka.tools.ConsoleProducer",
      "--bootstrap-server",
      brokers,
      "--topic",
      topic,
      "--property",
      "parse.key=true",
      "--property",
      "key.separator=|",
      "--producer-property",
      "acks=all",
    ],
    cwd: ROOT,
    env: { ...process.env, KAFKA_HEAP_OPTS: "-Xmx256m" },
    stdin: Buffer.from(`${lines.join("\n")}\n`),
    stdout: "pipe",
    stderr: "pipe",
    timeout: 60_000,
  });
  if (p.exitCode !== 0) throw new Error(`console producer to ${topic} exited ${p.exitCode}: ${p.stderr.toString().slice(-1500)}`);
}

/**
 * Kafka-native ingest on the local cluster: a plain kafkajs producer (not acu's client) writes the original
 * system's records (keyed by a constant string) and acu-shaped laptop records to two raw topics while the
 * ingest process moving them is killed with -9 twice. Then: student-reports holds each valid record's report
 * exactly once (read_committed), the orders are exactly the expected ones, the DLQ holds exactly the malformed
 * records with the raw topic's name, partition and offset; a producer resending records adds nothing to the
 * lake or the orders. Then Kafka's own console producer (its Java client) writes both shapes twice: the
 * lake holds each record once and the orders are exactly those below the threshold.
 */
describe.skipIf(!cluster)("raw topics on the local cluster", () => {
  const dir = tempDir("raw-topics");
  const procs: AcuProcess[] = [];
  const drops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop(9)));
    for (const d of drops) await d();
    cleanup(dir);
  });

  test("both shapes reach the lake once with the expected orders across 2 kill -9 of ingest; malformed ones to the DLQ; resends add nothing", async () => {
    const iso = await isolatedRun(cluster!, "rawtopics");
    drops.push(iso.drop);
    const ns = iso.env.ACU_KAFKA_NAMESPACE!;
    const run = ns.slice(0, -1);
    const rawOriginal = `${run}_student_report`;
    const rawLaptops = `${run}_laptops`;
    const kafka = new Kafka({ brokers: cluster!.kafka.split(","), logLevel: logLevel.NOTHING, clientId: "external-producer" });
    const admin = kafka.admin();
    const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await admin.connect();
    await producer.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          { topic: rawOriginal, numPartitions: 3 },
          { topic: rawLaptops, numPartitions: 3 },
        ],
      });
      const env = {
        ...iso.env,
        ACU_SINK_FLUSH_MS: "1000",
        ACU_EXERCISES: "strict",
        ACU_KAFKA_RAW_TOPICS: `${rawOriginal}:original,${rawLaptops}`,
      };
      const start = (role: string) =>
        startAcu({ dataDir: join(dir, "data"), env, args: [`--role=${role}`] }).then((p) => {
          procs.push(p);
          return p;
        });
      const http = await start("http,alert,sink");
      for (const id of ["7", "12", "c00.ex00"])
        expect((await fetch(`${http.url}/api/thresholds/${id}`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: 50 }) })).status).toBe(
          200,
        );

      // The malformed records first, each on its own so its position is known.
      const base = 1_764_622_000;
      const malformed: Array<{ topic: string; value: string; reason: string }> = [
        { topic: rawOriginal, value: "{not json", reason: "message is not JSON (UTF-8)" },
        {
          topic: rawOriginal,
          value: JSON.stringify({ login: "bad1", latitude: 48.85, longitude: 2.35, exercise: 12, score: 101, timestamp: base }),
          reason: "score: score must be between 0 and 100",
        },
        {
          topic: rawOriginal,
          value: JSON.stringify({ login: "bad2", latitude: 48.85, longitude: 2.35, exercise: 99, score: 10, timestamp: base }),
          reason: 'exerciseId: exercise "99" is not in the catalogue (no threshold entry; ACU_EXERCISES=strict)',
        },
        {
          topic: rawLaptops,
          value: JSON.stringify({ exerciseId: "c00.ex00", score: 10, latitude: 48.85, longitude: 2.35, timestamp: base * 1000 }),
          reason: "studentId: studentId must be a string",
        },
      ];
      // And, as a producer unaware of the raw topics would, a laptop record written straight into acu's
      // student-reports: the alert role's dead letter names the topic as it is on the cluster, namespace included.
      const straight = JSON.stringify({ studentId: "direct", exerciseId: "c00.ex00", score: 10, latitude: 48.85, longitude: 2.35, timestamp: base * 1000 });
      malformed.push({ topic: `${ns}student-reports`, value: straight, reason: reasonOf(straight) });
      const wantDead: Array<{ topic: string; partition: number; offset: number; reason: string }> = [];
      for (const m of malformed) {
        const [meta] = await producer.send({ topic: m.topic, acks: -1, messages: [{ key: "student_report", value: m.value }] });
        wantDead.push({ topic: m.topic, partition: meta!.partition, offset: Number(meta!.baseOffset), reason: m.reason });
      }

      let ingest = await start("ingest");
      const group = `${ns}acu-ingest-raw`;
      const topics = [rawOriginal, rawLaptops];
      // 16,000 records at about 2,000/s, written while the mover runs: 11,200 in the original shape, keyed by
      // one constant string as the original system does, 4,800 laptop records keyed by student.
      const sent: Sent[] = [];
      const resend: Array<{ topic: string; key: string; value: string }> = [];
      const total = 16_000;
      const producing = (async () => {
        for (let i = 0; i < total; i += 400) {
          const orig: Array<{ key: string; value: string }> = [];
          const laptops: Array<{ key: string; value: string }> = [];
          for (let j = i; j < i + 400; j++) {
            const score = (j * 37) % 101;
            if (j % 10 < 7) {
              const rec = { login: `login${j % 700}`, latitude: 43.6, longitude: 1.44, exercise: j % 2 === 0 ? 7 : 12, score, timestamp: base + j };
              orig.push({ key: "student_report", value: JSON.stringify(rec) });
              sent.push({ studentId: rec.login, exerciseId: String(rec.exercise), score, timestamp: rec.timestamp * 1000 });
            } else {
              const rec = { studentId: `s${j % 300}`, exerciseId: "c00.ex00", score, latitude: 48.85, longitude: 2.35, timestamp: base * 1000 + j };
              laptops.push({ key: rec.studentId, value: JSON.stringify(rec) });
              sent.push(rec);
            }
          }
          if (i < 1200) resend.push(...orig.map((m) => ({ topic: rawOriginal, ...m })), ...laptops.map((m) => ({ topic: rawLaptops, ...m })));
          await producer.send({ topic: rawOriginal, acks: -1, messages: orig });
          await producer.send({ topic: rawLaptops, acks: -1, messages: laptops });
          await Bun.sleep(200);
        }
      })();

      // kill -9 while it moves: once some records are committed, then as soon as the restarted process commits again.
      const kills: number[] = [];
      // The first after 1,000 records, mid-stream.
      let floor = 1000;
      for (let k = 0; k < 2; k++) {
        const at = await eventually(
          "the mover to commit",
          async () => {
            const n = await movedSoFar(admin, group, topics);
            return n > floor ? n : null;
          },
          90_000,
          20,
        );
        await ingest.stop(9);
        kills.push(at);
        floor = at;
        ingest = await start("ingest");
      }
      await producing;
      const everything = total + malformed.length - 1;
      await eventually("every raw record moved", async () => (await movedSoFar(admin, group, topics)) >= everything, 120_000, 500);
      console.log(`raw topics: kill -9 of ingest after ${kills.join(" and ")} of ${everything} records moved`);
      expect(kills[0]!).toBeLessThan(everything);
      expect(kills[1]!).toBeLessThan(everything);

      // student-reports as its readers see it: each valid record's report exactly once, keyed by student.
      const all = (await committed(cluster!.kafka, `${ns}student-reports`)).map((r) => ({ key: r.key, ...JSON.parse(r.value) }));
      const reports = all.filter((r) => r.studentId !== "direct");
      expect(all.length - reports.length).toBe(1);
      const wantIds = sent.map((s) => `${s.studentId}/${deriveReportId(s)}`);
      expect(new Set(wantIds).size).toBe(total);
      expect(reports.length).toBe(total);
      expect(new Set(reports.map((r) => `${r.studentId}/${r.reportId}`))).toEqual(new Set(wantIds));
      expect(reports.every((r) => r.key === r.studentId)).toBe(true);
      expect(new Set(reports.map((r) => r.region))).toEqual(new Set(["Occitanie", "Île-de-France"]));

      // The DLQ: exactly the malformed records, each naming the raw topic as it is on the cluster.
      const dead = (await committed(cluster!.kafka, `${ns}reports-dlq`, 1000))
        .map((d) => JSON.parse(d.value))
        .map((d) => ({ topic: d.topic, partition: d.partition, offset: d.offset, reason: d.reason, value: Buffer.from(d.value, "base64").toString() }));
      // Batches of the two topics commit in either order.
      const byPlace = (a: { topic: string; offset: number }, b: { topic: string; offset: number }) => a.topic.localeCompare(b.topic) || a.offset - b.offset;
      expect(dead.sort(byPlace)).toEqual(wantDead.map((d, i) => ({ ...d, value: malformed[i]!.value })).sort(byPlace));

      // The orders: one per failing report (score < 50), none else.
      const failing = new Set(sent.filter((s) => s.score < 50).map((s) => alertIdFor(s.studentId, deriveReportId(s))));
      const orders = await eventually(
        "every order",
        async () => {
          const o = await committed(cluster!.kafka, `${ns}alerts`, 1500);
          return o.length >= failing.size ? o : null;
        },
        60_000,
        500,
      );
      const alertIds = orders.map((o) => JSON.parse(o.value).alertId as string);
      expect(alertIds.length).toBe(failing.size);
      expect(new Set(alertIds)).toEqual(failing);

      // The producer resends 1,200 records, then 60 new failing ones (markers on every partition of
      // student-reports, behind the resends): once the markers are in the lake and ordered, the resends were
      // read by the sink and the alert role, and they must have added nothing.
      await producer.send({ topic: rawOriginal, acks: -1, messages: resend.filter((m) => m.topic === rawOriginal) });
      await producer.send({ topic: rawLaptops, acks: -1, messages: resend.filter((m) => m.topic === rawLaptops) });
      const markers = Array.from({ length: 60 }, (_, i) => ({
        studentId: `marker${i}`,
        exerciseId: "c00.ex00",
        score: 0,
        latitude: 48.85,
        longitude: 2.35,
        timestamp: base * 1000 + i,
      }));
      await producer.send({ topic: rawLaptops, acks: -1, messages: markers.map((m) => ({ key: m.studentId, value: JSON.stringify(m) })) });
      const lake = new LocalLake(join(dir, "data", "lake"));
      const markerIds = markers.map((m) => `${m.studentId}/${deriveReportId(m)}`);
      const final = await lakeOnceWith(lake, new Set(markerIds), "the markers in the lake");
      expect(final.length).toBe(total + markers.length);
      expect(new Set(final.map((r) => `${r.studentId}/${r.reportId}`))).toEqual(new Set([...wantIds, ...markerIds]));
      const onTopic = await committed(cluster!.kafka, `${ns}student-reports`, 1000);
      expect(onTopic.length).toBe(1 + total + resend.length + markers.length);
      expect(new Set(onTopic.filter((r) => r.key.startsWith("marker")).map((r) => r.partition)).size).toBe(6);
      const markerOrders = new Set(markers.map((m) => alertIdFor(m.studentId, deriveReportId(m))));
      const after = await ordersOnceWith(cluster!.kafka, `${ns}alerts`, markerOrders, "the markers' orders");
      expect(after.length).toBe(failing.size + markers.length);
      expect(new Set(after)).toEqual(new Set([...failing, ...markerOrders]));

      // acu signal --kafka, as a demo's producer: its original-shape records (exercises 1–22) are all moved.
      for (let ex = 1; ex <= 22; ex++)
        expect((await fetch(`${http.url}/api/thresholds/${ex}`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: 50 }) })).status).toBe(
          200,
        );
      const movedBefore = await movedSoFar(admin, group, topics);
      const signal = Bun.spawnSync({
        cmd: [process.execPath, "run", join(ROOT, "src/main.ts"), "signal", "--kafka", rawOriginal, "--format", "original", "--count", "500", "--rate", "2000"],
        env: { ...process.env, ACU_KAFKA_BROKERS: cluster!.kafka },
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(signal.exitCode, signal.stderr.toString()).toBe(0);
      expect(JSON.parse(signal.stdout.toString().trim().split("\n").at(-1)!)).toMatchObject({ sent: 500, rejected: 0 });
      await eventually("acu signal's records moved", async () => (await movedSoFar(admin, group, topics)) >= movedBefore + 500, 60_000, 500);
      expect((await committed(cluster!.kafka, `${ns}student-reports`, 1000)).length).toBe(onTopic.length + 500);
      expect((await committed(cluster!.kafka, `${ns}reports-dlq`, 500)).length).toBe(malformed.length);

      // Kafka's own console producer (the Java client, not kafkajs): both shapes, then the same lines again.
      const java = javaRecords(base);
      for (let pass = 0; pass < 2; pass++)
        for (const [topic, lines] of [
          [rawOriginal, java.original],
          [rawLaptops, java.laptops],
        ] as const)
          consoleProduce(cluster!.kafka, topic, lines);
      const late = markers.map((m) => ({ ...m, studentId: `late-${m.studentId}` }));
      await producer.send({ topic: rawLaptops, acks: -1, messages: late.map((m) => ({ key: m.studentId, value: JSON.stringify(m) })) });
      const lateIds = new Set(late.map((m) => `${m.studentId}/${deriveReportId(m)}`));
      const rows = await lakeOnceWith(lake, lateIds, "the late markers in the lake (behind the console producer's records and their resends)");
      const javaRows = rows.filter((r) => String(r.studentId).startsWith("jcp"));
      expect(javaRows.length).toBe(java.ids.size);
      expect(new Set(javaRows.map((r) => `${r.studentId}/${r.reportId}`))).toEqual(java.ids);
      const lateOrders = new Set(late.map((m) => alertIdFor(m.studentId, deriveReportId(m))));
      const ordersNow = await ordersOnceWith(cluster!.kafka, `${ns}alerts`, lateOrders, "the late markers' orders");
      expect(ordersNow.filter((id) => java.failing.has(id)).length).toBe(java.failing.size);
      expect(new Set(ordersNow.filter((id) => java.failing.has(id)))).toEqual(java.failing);
    } finally {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [rawOriginal, rawLaptops] }).catch(() => {});
      await admin.disconnect();
    }
  });
});
