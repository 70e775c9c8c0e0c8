import { DEFAULT_DEDUPE_IDS } from "../../src/domain/recent-ids.ts";
import { metrics, trackLag } from "../../src/metrics.ts";
import { HandlerBackpressure, type Bus, type RecordBatch } from "../../src/ports/bus.ts";
import type { Lake } from "../../src/ports/lake.ts";
import type { Log, Running } from "../lifecycle.ts";
import { SinkPartitions } from "./assignment.ts";
import { bindLakeToBus } from "./bus-binding.ts";
import { deploymentsDataset, incidentsDataset, reportsDataset, type SinkDataset } from "./datasets.ts";
import { FlushQueue } from "./flush-queue.ts";
import { DatasetWriter } from "./lake-writer.ts";
import { recordBytes } from "./partition-buffer.ts";

export { highestWrittenOffsets } from "./assignment.ts";

export const SINK_GROUP = "acu-sink";

/** 128 MiB of records as fetched: ~10 minutes of an exam's peak (2,000 reports/s of ~100 bytes, with orders and events) held while the lake is away. */
export const DEFAULT_SINK_BUFFER_BYTES = 128 * 1024 * 1024;

/**
 * The sink's memory bound: a batch that would take the buffers past it is refused (HandlerBackpressure:
 * the bus delivers it again after a pause and fetches nothing more meanwhile), and every buffer is asked
 * to flush. While the lake is away the sink then holds at most the bound plus one batch; once the lake is
 * back the flush empties the buffers and the refused batches are taken. One log line per episode.
 */
class BufferBound {
  private full = false;

  constructor(
    private readonly partitions: SinkPartitions,
    private readonly flushes: FlushQueue,
    private readonly log: Log,
    readonly maxBytes: number,
  ) {}

  /** Sets acu_sink_buffered_bytes. */
  measure(): number {
    const held = this.partitions.bufferedBytes();
    metrics.sinkBufferedBytes.set(held);
    return held;
  }

  admit(batch: RecordBatch): void {
    const held = this.measure();
    let incoming = 0;
    for (const r of batch.records) incoming += recordBytes(r);
    if (held === 0 || held + incoming <= this.maxBytes) {
      if (this.full) this.log.info(`sink: buffer below its bound again (${held} bytes held); taking records`);
      this.full = false;
      return;
    }
    if (!this.full)
      this.log.warn(`sink: buffer full (${held} bytes held, bound ${this.maxBytes}: ACU_SINK_BUFFER_BYTES); fetching paused until the lake takes files`);
    this.full = true;
    this.flushes.tick(() => true);
    throw new HandlerBackpressure(`sink buffer full (${held} of ${this.maxBytes} bytes)`);
  }
}

export interface SinkOptions {
  /** Flush a partition's buffer once its oldest record waited this long. */
  flushAgeMs: number;
  /** …or once it holds this many records. */
  flushRecords: number;
  /**
   * Bytes the sink holds at most (records buffered or being written): beyond it a batch is refused, to be
   * delivered again later, and the consumer fetches nothing meanwhile. Default 128 MiB.
   */
  bufferBytes?: number;
  /** Ids remembered per dataset (ACU_DEDUPE_IDS) to drop a report resent by a laptop (its 202 lost), or an order or incident event published twice. */
  recentIds?: number;
}

/** Every topic the sink keeps, and how. */
const DATASETS: ReadonlyArray<SinkDataset<unknown>> = [reportsDataset, deploymentsDataset, incidentsDataset];

/** The topics the sink reads: the lake's bus binding covers them. */
export const SINK_TOPICS = DATASETS.map((ds) => ds.topic);

/**
 * The sink role: every report into `reports/`, every deployment order into `deployments/`, every incident
 * event into `incidents/`, as Parquet.
 * A partition's offsets are committed only after its file is durable in the lake; at start the sink
 * resumes at the end of the partition's lake chain (modules/sink/chain.ts), so a crash between write and
 * commit neither loses nor duplicates rows. Any number of sinks may run: each file's range is claimed once
 * in the chain, so files never overlap whoever writes them and whenever partitions move.
 */
export async function startSink(deps: { bus: Bus; lake: Lake; log: Log; options: SinkOptions }): Promise<Running> {
  const { bus, lake, log, options } = deps;
  const capacity = options.recentIds ?? DEFAULT_DEDUPE_IDS;
  const writers = new Map<string, DatasetWriter<unknown>>();
  for (const ds of DATASETS) writers.set(ds.topic, await DatasetWriter.open(ds, lake, log, capacity));
  const datasets = new Map(DATASETS.map((ds) => [ds.topic, ds]));
  // Before anything is consumed: the lake must have been written from this bus (else refuse, never skip).
  const epoch = await bindLakeToBus(lake, bus, SINK_TOPICS, log);
  const partitions = new SinkPartitions(lake, log, epoch.base);
  const flushes = new FlushQueue(partitions, writers, lake, log);

  const bound = new BufferBound(partitions, flushes, log, options.bufferBytes ?? DEFAULT_SINK_BUFFER_BYTES);
  const onBatch = async (batch: RecordBatch): Promise<void> => {
    const b = partitions.buffer(batch.topic, batch.partition);
    const ds = datasets.get(batch.topic)!;
    bound.admit(batch);
    if (!b.append(batch.records, partitions.acceptFrom(b), (r) => ds.decode(r, log))) return;
    bound.measure();
    if (b.records.length >= options.flushRecords) await flushes.flush((x) => x === b);
  };

  const consumer = await bus.consume(
    {
      group: SINK_GROUP,
      topics: SINK_TOPICS,
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
      bound.measure();
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
