/**
 * Where things live in the lake. A file holds one contiguous run of offsets of one bus partition and is
 * named after it, so a sink that rewrites after a crash produces the same name (a replace, never a
 * duplicate) and the highest offset on disk tells the sink where to resume.
 */
export const LAKE_DIRS = { reports: "reports", deployments: "deployments", incidents: "incidents" } as const;
export type LakeDataset = keyof typeof LAKE_DIRS;

export interface LakeFileName {
  dataset: LakeDataset;
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
}

const pad = (n: number) => String(n).padStart(12, "0");

/** Partitioned by the bus append time (UTC) of the file's first record: date and hour. */
export function lakePath(f: LakeFileName, appendedAt: number): string {
  const d = new Date(appendedAt).toISOString();
  return `${LAKE_DIRS[f.dataset]}/date=${d.slice(0, 10)}/hour=${d.slice(11, 13)}/${f.topic}-p${f.partition}-${pad(f.firstOffset)}-${pad(f.lastOffset)}.parquet`;
}

/**
 * Every dataset's directory is its name: the pattern follows LAKE_DIRS. The topic starts with a letter or a
 * digit: a name starting with `.` or `_` is hidden (Hadoop's and Spark's rule, and the lakes'), never the sink's.
 */
const NAME = new RegExp(
  `^(${Object.values(LAKE_DIRS).join("|")})/date=\\d{4}-\\d{2}-\\d{2}/hour=\\d{2}/([A-Za-z0-9][A-Za-z0-9._-]*)-p(\\d+)-(\\d{12})-(\\d{12})\\.parquet$`,
);

/**
 * The file a lake path names, or null when it is not one of the lake's own: anything else under a dataset's
 * folder (a Spark job's `_temporary/` or `part-*` files, a hidden copy, a folder too deep) is none of acu's.
 */
export function parseLakePath(path: string): LakeFileName | null {
  const m = NAME.exec(path);
  if (!m) return null;
  return { dataset: m[1] as LakeDataset, topic: m[2]!, partition: Number(m[3]), firstOffset: Number(m[4]), lastOffset: Number(m[5]) };
}
