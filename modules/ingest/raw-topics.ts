import { encodeReport, parseReportItem, toReport, type ReportFormat, type ReportInput } from "../../src/domain/report.ts";
import { metrics, trackLag } from "../../src/metrics.ts";
import { rawTopic, TOPICS, type Bus, type BusRecord, type RecordBatch, type Consumer } from "../../src/ports/bus.ts";
import { JsonTooDeepError, parseJson } from "../../src/json.ts";
import { deadLetterMessages, deadLetterOf, type DeadLetter } from "../dead-letters.ts";
import type { Log, Running } from "../lifecycle.ts";
import type { ExerciseCatalogue } from "./catalogue.ts";

/** The consumer group of the raw-topic mover (with the namespace on the cluster). */
export const RAW_INGEST_GROUP = "acu-ingest-raw";

/** An external producers' topic (its literal name on the cluster) and the shape of its records. */
export interface RawTopicSource {
  name: string;
  format: ReportFormat;
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/**
 * The Kafka-native ingest path: records written by external producers (the laptops as Kafka producers, the
 * original system) to raw topics are moved into `student-reports` as POST /api/reports would take them —
 * the same validation, reportId derivation, region and exercise catalogue, keyed by student — and each
 * invalid one to `reports-dlq` with its reason and position. A batch's reports, its dead letters and its
 * offsets are one Kafka transaction (commitWith, as the alert role's): a crash redoes the batch and the
 * redo publishes nothing twice. The rate limits of the HTTP path do not apply: a producer that has
 * already written its records cannot be told to wait (the cluster's quotas bound it).
 */
export async function startRawIngest(deps: {
  bus: Bus;
  log: Log;
  sources: RawTopicSource[];
  /** ACU_EXERCISES=strict: a record of an exercise outside it goes to the DLQ; null: open. */
  catalogue: ExerciseCatalogue | null;
}): Promise<Running> {
  const { bus, log } = deps;
  const formats = new Map(deps.sources.map((s) => [rawTopic(s.name), s.format]));
  const options = { group: RAW_INGEST_GROUP, topics: [...formats.keys()], commit: "manual" as const, maxBatch: 1000, concurrentPartitions: true };
  const consumer = await bus.consume(options, async (batch, c) => {
    const moved = await moveBatch(batch, formats.get(batch.topic) ?? "auto", deps);
    await commitMoved(bus, c, batch, moved);
    const name = bus.topicName(batch.topic);
    metrics.rawReports.inc({ topic: name, outcome: "moved" }, moved.reports.length);
    if (moved.deadLetters.length > 0) {
      metrics.rawReports.inc({ topic: name, outcome: "dead_letter" }, moved.deadLetters.length);
      metrics.deadLetters.inc(moved.deadLetters.length);
      log.warn(`ingest: ${moved.deadLetters.length} record(s) of ${name} sent to ${TOPICS.deadLetters}: ${moved.deadLetters[0]!.reason}`);
    }
  });
  const stopLag = trackLag(RAW_INGEST_GROUP, () => consumer.lag());
  log.info(`ingest: moving ${deps.sources.map((s) => `${s.name} (${s.format})`).join(", ")} into ${bus.topicName(TOPICS.reports)}`);
  return {
    name: "ingest-raw",
    async stop() {
      stopLag();
      await consumer.stop();
    },
  };
}

interface Moved {
  reports: ReturnType<typeof toReport>[];
  deadLetters: DeadLetter[];
}

/** A batch's valid records as reports and the others as dead letters. Rejects when the catalogue cannot be read (the batch is redelivered). */
async function moveBatch(batch: RecordBatch, format: ReportFormat, deps: { catalogue: ExerciseCatalogue | null }): Promise<Moved> {
  const valid: Array<{ record: BusRecord; input: ReportInput }> = [];
  const deadLetters: DeadLetter[] = [];
  for (const record of batch.records) {
    const r = parseRecord(record.value, format);
    if (typeof r === "string") deadLetters.push(deadLetterOf(record, r));
    else valid.push({ record, input: r });
  }
  const unknown = new Set(deps.catalogue ? await deps.catalogue.unknown(valid.map((v) => v.input.exerciseId)) : []);
  const reports = [];
  for (const v of valid) {
    if (unknown.has(v.input.exerciseId))
      deadLetters.push(
        deadLetterOf(v.record, `exerciseId: exercise ${JSON.stringify(v.input.exerciseId)} is not in the catalogue (no threshold entry; ACU_EXERCISES=strict)`),
      );
    else reports.push(toReport(v.input));
  }
  return { reports, deadLetters };
}

/** One record's report in acu's shape, or why it is refused (field issues as POST /api/reports names them). */
export function parseRecord(value: Uint8Array, format: ReportFormat): ReportInput | string {
  let item: unknown;
  try {
    item = parseJson(utf8Strict.decode(value), "message");
  } catch (e) {
    return e instanceof JsonTooDeepError ? e.message : "message is not JSON (UTF-8)";
  }
  const r = parseReportItem(item, format);
  if (r.ok) return r.report;
  return r.issues.map((i) => `${i.path || "message"}: ${i.message}`).join("; ");
}

/** The batch's reports (keyed by student), its dead letters and its offsets: one transaction. */
function commitMoved(bus: Bus, c: Consumer, batch: RecordBatch, moved: Moved): Promise<void> {
  const last = batch.records[batch.records.length - 1]!;
  return c.commitWith(
    [
      { topic: TOPICS.reports, messages: moved.reports.map((r) => ({ key: r.studentId, value: encodeReport(r) })) },
      { topic: TOPICS.deadLetters, messages: deadLetterMessages(bus, moved.deadLetters) },
    ],
    [{ topic: batch.topic, partition: batch.partition, offset: last.offset + 1 }],
  );
}
