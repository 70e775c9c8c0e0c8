import { decodeDeploymentOrder, type DeploymentOrder } from "../../src/domain/deployment-order.ts";
import { lakePath, parseLakePath, type LakeDataset, type LakeFileName } from "../../src/domain/lake-layout.ts";
import { decodeReport } from "../../src/domain/report.ts";
import { decodeParquet, encodeDeployments, encodeReports, type LakeReport } from "../../src/formats/parquet.ts";
import { RecentIds } from "../../src/domain/recent-ids.ts";
import { metrics, trackLag } from "../../src/metrics.ts";
import { TOPICS, type Bus, type BusRecord, type Consumer, type OffsetCommit } from "../../src/ports/bus.ts";
import type { Lake } from "../../src/ports/lake.ts";
import type { Log, Running } from "../lifecycle.ts";

export const SINK_GROUP = "acu-sink";

export interface SinkOptions {
  /** Flush a partition's buffer once its oldest record waited this long. */
  flushAgeMs: number;
  /** …or once it holds this many records. */
  flushRecords: number;
  /** Ids remembered per dataset to drop a report resent by a laptop (its 202 lost) or an order published twice. */
  recentIds?: number;
}

const DATASET: Record<string, LakeDataset> = { [TOPICS.reports]: "reports", [TOPICS.alerts]: "deployments" };

type DeploymentRow = DeploymentOrder & { partition: number; offset: number };

interface Buffer {
  topic: string;
  partition: number;
  records: BusRecord[];
  /**
   * Each record decoded as it arrives (null: malformed), in step with `records`: the decoding is done
   * while the sink waits for a file's age or size, not in one burst when the file is written.
   */
  rows: Array<LakeReport | DeploymentRow | null>;
  firstAt: number;
  /** Next offset expected: a batch redelivered after a failed flush is not buffered twice. */
  next: number;
  /** Offset to commit for a file already published whose commit failed: retried before the next file. */
  uncommitted?: number;
  /** The failed commit last logged (logged once per offset, not on every retry). */
  uncommittedLogged?: number;
}

/**
 * The sink role: every report into `reports/`, every deployment order into `deployments/`, as Parquet.
 * A partition's offsets are committed only after its file is durable in the lake; at start the sink
 * resumes after the highest offset the lake already holds, so a crash between write and commit
 * neither loses nor duplicates rows.
 */
export async function startSink(deps: { bus: Bus; lake: Lake; log: Log; options: SinkOptions }): Promise<Running> {
  const { bus, lake, log, options } = deps;
  const buffers = new Map<string, Buffer>();
  const capacity = options.recentIds ?? 200_000;
  const recent: Record<LakeDataset, RecentIds> = {
    reports: await recentIdsFromLake(lake, "reports", "reportId", capacity),
    deployments: await recentIdsFromLake(lake, "deployments", "alertId", capacity),
  };
  let consumer: Consumer | null = null;
  let flushing: Promise<void> = Promise.resolve();
  /** Last offset this process published per topic/partition: never buffered again, whatever Kafka redelivers. */
  const published = new Map<string, number>();

  const flushOne = async (b: Buffer): Promise<void> => {
    if (!consumer) return;
    await commitPending(b);
    if (b.records.length === 0) return;
    // Take the buffer: records arriving during the write start the next file.
    const records = b.records;
    const rows = b.rows;
    const firstAt = b.firstAt;
    b.records = [];
    b.rows = [];
    b.firstAt = Date.now();
    try {
      await writeFile(b, records, rows);
    } catch (e) {
      // Not published: the records go back to the buffer and are written again, with what came since.
      b.records = records.concat(b.records);
      b.rows = rows.concat(b.rows);
      b.firstAt = firstAt;
      throw e;
    }
    // Published: its records are in the lake, and never buffered or written again (a rewrite of the same
    // range would drop every row as a resend of itself: its ids are already remembered). A failed commit
    // is retried on its own; until it succeeds a restart or rebalance resumes after the lake's offsets.
    b.uncommitted = records[records.length - 1]!.offset + 1;
    published.set(`${b.topic}/${b.partition}`, b.uncommitted - 1);
    await commitPending(b);
  };

  /** Commits the offsets of the buffer's last published file, if not done yet. */
  const commitPending = async (b: Buffer): Promise<void> => {
    const offset = b.uncommitted;
    if (offset === undefined) return;
    try {
      await consumer!.commit([{ topic: b.topic, partition: b.partition, offset }]);
      if (b.uncommitted === offset) b.uncommitted = undefined;
    } catch (e) {
      if (b.uncommittedLogged === offset) return;
      b.uncommittedLogged = offset;
      log.warn(`sink: committing ${b.topic}/${b.partition}@${offset} (its file is in the lake) failed, will retry: ${(e as Error).message}`);
    }
  };

  /** Encodes and publishes one file; resolves only once it is durable in the lake. */
  const writeFile = async (b: Buffer, records: BusRecord[], rows: Buffer["rows"]): Promise<void> => {
    const first = records[0]!;
    const last = records[records.length - 1]!;
    const dataset = DATASET[b.topic]!;
    const path = lakePath({ dataset, topic: b.topic, partition: b.partition, firstOffset: first.offset, lastOffset: last.offset }, first.timestamp);
    // Each id once: the file keeps the offsets it covers in its name, even if it drops a resent copy.
    const seen = recent[dataset];
    const fresh = new Set<string>();
    const keep = (id: string): boolean => {
      if (seen.has(id) || fresh.has(id)) return false;
      fresh.add(id);
      return true;
    };
    const valid = rows.filter((r) => r !== null);
    let bytes: Uint8Array;
    if (dataset === "reports") {
      // The alert role routes malformed messages to the DLQ; the lake keeps only valid reports.
      if (valid.length < records.length) log.warn(`sink: skipped ${records.length - valid.length} malformed report message(s)`);
      bytes = encodeReports((valid as LakeReport[]).filter((r) => keep(r.reportId)));
    } else {
      bytes = encodeDeployments((valid as DeploymentRow[]).filter((o) => keep(o.alertId)));
    }
    await lake.write(path, bytes);
    for (const id of fresh) seen.add(id);
    if (fresh.size < records.length) metrics.duplicatesDropped.inc({ dataset }, records.length - fresh.size);
    metrics.lakeFilesWritten.inc({ dataset });
    metrics.lakeRowsWritten.inc({ dataset }, records.length);
  };

  // Flushes are serialised so a timer flush and a size flush never write the same partition at once.
  // Within one flush the partitions' files are written concurrently: each is encoded (CPU) while the
  // files before it travel to HDFS and their offsets are committed (round trips), instead of one
  // partition's encode → write → rename → commit after the other.
  const flush = (pred: (b: Buffer) => boolean): Promise<void> => {
    const run = flushing.then(async () => {
      const writes: Promise<void>[] = [];
      for (const b of buffers.values()) {
        if (b.records.length > 0 && pred(b)) writes.push(flushOne(b));
        else if (b.uncommitted !== undefined) writes.push(commitPending(b));
      }
      // Every write ends (each restores its own buffer on failure) before the first error is reported.
      const failed = (await Promise.allSettled(writes)).find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
    });
    flushing = run.catch(() => {});
    return run;
  };

  /** The lake is the sink's source of truth: skip what a previous run wrote but did not commit. */
  const assign = async (parts: Array<{ topic: string; partition: number; committed: number }>): Promise<OffsetCommit[]> => {
    const written = await highestWrittenOffsets(lake);
    const seeks: OffsetCommit[] = [];
    for (const p of parts) {
      const key = `${p.topic}/${p.partition}`;
      const done = Math.max(written.get(key) ?? -1, published.get(key) ?? -1);
      const from = done >= 0 && done + 1 > p.committed ? done + 1 : p.committed;
      if (from > p.committed) seeks.push({ topic: p.topic, partition: p.partition, offset: from });
      // Records fetched before the seek takes effect are dropped by offset.
      buffers.set(key, { topic: p.topic, partition: p.partition, records: [], rows: [], firstAt: 0, next: from });
    }
    if (seeks.length > 0) log.info(`sink: resuming ${seeks.length} partition(s) after offsets already in the lake`);
    return seeks;
  };

  consumer = await bus.consume(
    {
      group: SINK_GROUP,
      topics: [TOPICS.reports, TOPICS.alerts],
      commit: "manual",
      maxBatch: 5000,
      onAssign: (parts) => {
        // Inside the flush chain: a flush publishing a file between assign's listing of the lake and its new
        // buffers would have its range delivered again and rewritten, every row dropped as a resend of
        // itself — an empty file over the good one (found by tests/faults, Kafka brokers stopped).
        const run = flushing.then(() => assign(parts));
        flushing = run.then(() => {}, () => {});
        return run;
      },
      onRevoke: async () => {
        await flush(() => true);
      },
      onLost: async (parts) => {
        for (const p of parts) buffers.delete(`${p.topic}/${p.partition}`);
        log.info(`sink: ${parts.length} partition(s) moved to another member; their unwritten records are left to it`);
      },
    },
    async (batch) => {
      const key = `${batch.topic}/${batch.partition}`;
      let b = buffers.get(key);
      if (!b) buffers.set(key, (b = { topic: batch.topic, partition: batch.partition, records: [], rows: [], firstAt: 0, next: 0 }));
      const from = Math.max(b.next, (published.get(key) ?? -1) + 1);
      const fresh = batch.records.filter((r) => r.offset >= from);
      if (fresh.length === 0) return;
      if (b.records.length === 0) b.firstAt = Date.now();
      const reports = DATASET[batch.topic] === "reports";
      for (const r of fresh) {
        b.records.push(r);
        b.rows.push(reports ? toReport(r) : toDeployment(r, log));
      }
      b.next = fresh[fresh.length - 1]!.offset + 1;
      if (b.records.length >= options.flushRecords) await flush((x) => x === b);
    },
  );

  const timer = setInterval(() => {
    const now = Date.now();
    flush((b) => now - b.firstAt >= options.flushAgeMs).catch((e) => log.warn(`sink: flush failed, will retry: ${(e as Error).message}`));
  }, Math.max(50, Math.min(1000, options.flushAgeMs / 4)));

  const stopLag = trackLag(SINK_GROUP, () => consumer!.lag());

  return {
    name: "sink",
    async stop() {
      clearInterval(timer);
      stopLag();
      await consumer!.stop(); // onRevoke flushes and commits what is buffered
    },
  };
}

/** The report with its bus position, or null if the message is malformed (counted when its file is written). */
function toReport(r: BusRecord): LakeReport | null {
  try {
    // decodeReport returns a fresh object: extended in place rather than copied.
    const report = decodeReport(r.value) as LakeReport;
    report.partition = r.partition;
    report.offset = r.offset;
    return report;
  } catch {
    return null;
  }
}

function toDeployment(r: BusRecord, log: Log): DeploymentRow | null {
  try {
    return { ...decodeDeploymentOrder(r.value), partition: r.partition, offset: r.offset };
  } catch (e) {
    log.warn(`sink: skipped malformed deployment order at ${r.topic}/${r.partition}@${r.offset}: ${(e as Error).message}`);
    return null;
  }
}

/** Ids of the newest lake files of a dataset, about `capacity` of them, spread over the partitions. */
async function recentIdsFromLake(lake: Lake, dataset: LakeDataset, column: string, capacity: number): Promise<RecentIds> {
  const byPartition = new Map<number, LakeFileName[]>();
  const paths = new Map<LakeFileName, string>();
  for (const f of await lake.list(`${dataset}/`)) {
    const n = parseLakePath(f.path);
    if (!n) continue;
    byPartition.set(n.partition, [...(byPartition.get(n.partition) ?? []), n]);
    paths.set(n, f.path);
  }
  const per = Math.ceil(capacity / Math.max(1, byPartition.size));
  const chosen: LakeFileName[] = [];
  for (const files of byPartition.values()) {
    // Newest first, until the offsets they cover (their names say how many) fill this partition's share.
    files.sort((a, b) => b.lastOffset - a.lastOffset);
    let covered = 0;
    for (const f of files) {
      if (covered >= per) break;
      chosen.push(f);
      covered += f.lastOffset - f.firstOffset + 1;
    }
  }
  // Oldest first, so the newest ids are the last to be evicted.
  chosen.sort((a, b) => a.lastOffset - b.lastOffset);
  const recent = new RecentIds(capacity);
  for (const f of chosen) {
    const col = decodeParquet(await lake.read(paths.get(f)!)).getChild(column);
    if (col) for (const id of col) recent.add(id as string);
  }
  return recent;
}

/** Highest offset per topic/partition that the lake already holds. */
export async function highestWrittenOffsets(lake: Lake): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const dir of ["reports/", "deployments/"]) {
    for (const f of await lake.list(dir)) {
      const n = parseLakePath(f.path);
      if (!n) continue;
      const k = `${n.topic}/${n.partition}`;
      if ((out.get(k) ?? -1) < n.lastOffset) out.set(k, n.lastOffset);
    }
  }
  return out;
}
