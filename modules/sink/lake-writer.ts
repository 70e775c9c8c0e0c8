import { lakePath, parseLakePath, type LakeFileName } from "../../src/domain/lake-layout.ts";
import { RecentIds } from "../../src/domain/recent-ids.ts";
import { decodeParquet } from "../../src/formats/parquet.ts";
import { metrics } from "../../src/metrics.ts";
import type { BusRecord } from "../../src/ports/bus.ts";
import type { Lake } from "../../src/ports/lake.ts";
import type { Log } from "../lifecycle.ts";
import type { SinkDataset } from "./datasets.ts";

/** Writes one dataset's files, each id once: the ids of the newest files in the lake are remembered. */
export class DatasetWriter<Row> {
  private constructor(
    private readonly dataset: SinkDataset<Row>,
    private readonly seen: RecentIds,
    private readonly lake: Lake,
    private readonly log: Log,
  ) {}

  static async open<Row>(dataset: SinkDataset<Row>, lake: Lake, log: Log, capacity: number): Promise<DatasetWriter<Row>> {
    return new DatasetWriter(dataset, await recentIdsFromLake(lake, dataset, capacity), lake, log);
  }

  /** The file of a partition's records: named after their offsets, in the folder of the first one's append time. */
  pathOf(partition: number, records: BusRecord[]): string {
    const first = records[0]!;
    const last = records[records.length - 1]!;
    return lakePath(
      { dataset: this.dataset.dataset, topic: this.dataset.topic, partition, firstOffset: first.offset, lastOffset: last.offset },
      first.timestamp,
    );
  }

  /** Encodes and publishes one file of a partition's records at `path` (its chain link's); resolves only once it is durable in the lake. */
  async write(path: string, records: BusRecord[], rows: Array<Row | null>): Promise<void> {
    const { dataset: ds, lake } = this;
    // Each id once: the file keeps the offsets it covers in its name, even if it drops a resent copy.
    const fresh = new Set<string>();
    const keep = (id: string): boolean => {
      if (this.seen.has(id) || fresh.has(id)) return false;
      fresh.add(id);
      return true;
    };
    const valid = rows.filter((r) => r !== null);
    if (ds.malformedPerFile && valid.length < records.length) this.log.warn(ds.malformedPerFile(records.length - valid.length));
    const bytes = ds.encode(valid.filter((r) => keep(ds.id(r))));
    // The first publication of a path wins and never changes (what an analyzer counted is what stays): a
    // writer replaced meanwhile that publishes the same range late leaves the lake as it is.
    const created = await lake.createExclusive(path, bytes);
    for (const id of fresh) this.seen.add(id);
    if (!created) return this.log.info(`sink: ${path} was published first by another writer; that copy stays`);
    if (fresh.size < records.length) metrics.duplicatesDropped.inc({ dataset: ds.dataset }, records.length - fresh.size);
    metrics.lakeFilesWritten.inc({ dataset: ds.dataset });
    metrics.lakeRowsWritten.inc({ dataset: ds.dataset }, records.length);
  }
}

/** Ids of the newest lake files of a dataset, about `capacity` of them, spread over the partitions. */
async function recentIdsFromLake(lake: Lake, ds: SinkDataset<unknown>, capacity: number): Promise<RecentIds> {
  const byPartition = new Map<number, LakeFileName[]>();
  const paths = new Map<LakeFileName, string>();
  for (const f of await lake.list(`${ds.dataset}/`)) {
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
    const table = decodeParquet(await lake.read(paths.get(f)!), [...ds.idColumns]);
    // Each column read whole by its iterator: Vector.get(i) looks up the row's chunk every time.
    const cols = ds.idColumns.map((c) => table.getChild(c));
    if (cols.some((c) => !c)) continue;
    const values = cols.map((c) => Array.from(c!, String));
    for (let i = 0; i < table.numRows; i++) recent.add(ds.idAt(values, i));
  }
  return recent;
}
