import { LocalLake } from "../../src/adapters/embedded/local-lake.ts";
import { decodeParquet } from "../../src/formats/parquet.ts";
import { join } from "node:path";

/** Reads a data dir's lake directly from disk, as an auditor would. */
export async function readLake(dataDir: string, dataset: "reports" | "deployments"): Promise<{ rows: Array<Record<string, unknown>>; files: string[] }> {
  const lake = new LocalLake(join(dataDir, "lake"));
  const files = (await lake.list(`${dataset}/`)).map((f) => f.path);
  const rows: Array<Record<string, unknown>> = [];
  for (const f of files) {
    const t = decodeParquet(await lake.read(f));
    for (const r of t) rows.push(r!.toJSON() as Record<string, unknown>);
  }
  return { rows, files };
}
