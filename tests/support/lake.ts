import type { LakeDataset } from "../../src/domain/lake-layout.ts";
import { join } from "node:path";
import { LocalLake } from "../../src/adapters/embedded/local-lake.ts";
import { decodeParquet } from "../../src/formats/parquet.ts";
import type { Lake } from "../../src/ports/lake.ts";

/** Reads every file of a dataset, as an auditor would. */
export async function readLakeFrom(lake: Lake, dataset: LakeDataset): Promise<{ rows: Array<Record<string, unknown>>; files: string[] }> {
  const files = (await lake.list(`${dataset}/`)).map((f) => f.path);
  const rows: Array<Record<string, unknown>> = [];
  for (const f of files) {
    const t = decodeParquet(await lake.read(f));
    for (const r of t) rows.push(r!.toJSON() as Record<string, unknown>);
  }
  return { rows, files };
}

/** Reads a data dir's local lake directly from disk. */
export function readLake(dataDir: string, dataset: LakeDataset) {
  return readLakeFrom(new LocalLake(join(dataDir, "lake")), dataset);
}
