import { DEFAULT_DEDUPE_IDS } from "../../src/domain/recent-ids.ts";
import { trackLag } from "../../src/metrics.ts";
import type { Bus, RecordBatch } from "../../src/ports/bus.ts";
import type { Lake } from "../../src/ports/lake.ts";
import type { Log, Running } from "../lifecycle.ts";
import { SinkPartitions } from "./assignment.ts";
import { deploymentsDataset, incidentsDataset, reportsDataset, type SinkDataset } from "./datasets.ts";
import { FlushQueue } from "./flush-queue.ts";
import { DatasetWriter } from "./lake-writer.ts";

export { highestWrittenOffsets } from "./assignment.ts";

export const SINK_GROUP = "acu-sink";

export interface SinkOptions {
  /** Flush a partition's buffer once its oldest record waited this long. */
  flushAgeMs: number;
  /** …or once it holds this many records. */
  flushRecords: number;
  /** Ids remembered per dataset (ACU_DEDUPE_IDS) to drop a report resent by a laptop (its 202 lost), or an order or incident event published twice. */
  recentIds?: number;
}

/** Every topic the sink keeps, and how. */
const DATASETS: ReadonlyArray<SinkDataset<unknown>> = [reportsDataset, deploymentsDataset, incidentsDataset];

/**
 * The sink role: every report into `reports/`, every deployment order into `deployments/`, every incident
 * event into `incidents/`, as Parquet.
 * A partition's offsets are committed only after its file is durable in the lake; at start the sink
 * resumes after the highest offset the lake already holds, so a crash between write and commit
 * neither loses nor duplicates rows.
 */
export async function startSink(deps: { bus: Bus; lake: Lake; log: Log; options: SinkOptions }): Promise<Running> {
  const { bus, lake, log, options } = deps;
  const capacity = options.recentIds ?? DEFAULT_DEDUPE_IDS;
  const writers = new Map<string, DatasetWriter<unknown>>();
  for (const ds of DATASETS) writers.set(ds.topic, await DatasetWriter.open(ds, lake, log, capacity));
  const datasets = new Map(DATASETS.map((ds) => [ds.topic, ds]));
  const partitions = new SinkPartitions(lake, log);
  const flushes = new FlushQueue(partitions, writers, log);

  const onBatch = async (batch: RecordBatch): Promise<void> => {
    const b = partitions.buffer(batch.topic, batch.partition);
    const ds = datasets.get(batch.topic)!;
    if (!b.append(batch.records, partitions.acceptFrom(b), (r) => ds.decode(r, log))) return;
    if (b.records.length >= options.flushRecords) await flushes.flush((x) => x === b);
  };

  const consumer = await bus.consume(
    {
      group: SINK_GROUP,
      topics: DATASETS.map((ds) => ds.topic),
      commit: "manual",
      maxBatch: 5000,
      onAssign: (parts) => flushes.assign(parts),
      onRevoke: () => flushes.flush(() => true),
      onLost: async (parts) => partitions.lose(parts),
    },
    onBatch,
  );
  flushes.attach(consumer);

  const timer = setInterval(
    () => {
      const now = Date.now();
      flushes.tick((b) => now - b.firstAt >= options.flushAgeMs);
    },
    Math.max(50, Math.min(1000, options.flushAgeMs / 4)),
  );

  const stopLag = trackLag(SINK_GROUP, () => consumer.lag());

  return {
    name: "sink",
    async stop() {
      clearInterval(timer);
      stopLag();
      await consumer.stop(); // onRevoke flushes and commits what is buffered
    },
  };
}
