import { expect, test } from "bun:test";
import { LAKE_DIRS, lakePath, parseLakePath, type LakeDataset } from "./lake-layout.ts";

test("every dataset's file name carries its partition and offsets, and parses back", () => {
  const at = Date.UTC(2026, 10, 27, 9, 30);
  for (const [dataset, topic] of [
    ["reports", "student-reports"],
    ["deployments", "alerts"],
    ["incidents", "incident-events"],
  ] as const) {
    const f = { dataset: dataset as LakeDataset, topic, partition: 3, firstOffset: 120, lastOffset: 4567 };
    const path = lakePath(f, at);
    expect(path).toBe(`${LAKE_DIRS[dataset]}/date=2026-11-27/hour=09/${topic}-p3-000000000120-000000004567.parquet`);
    expect(parseLakePath(path)).toEqual(f);
  }
  expect(parseLakePath("incidents/date=2026-11-27/hour=09/incident-events-p3-12-13.parquet")).toBeNull();
  expect(parseLakePath("other/date=2026-11-27/hour=09/incident-events-p3-000000000120-000000004567.parquet")).toBeNull();
  expect(parseLakePath("incidents/date=2026-11-27/hour=09/incident-events-p3-000000000120-000000004567.parquet.tmp")).toBeNull();
});

test("a file not of the lake's own naming parses to null: hidden, a Spark job's, a folder too deep", () => {
  const hour = "reports/date=2026-11-27/hour=09";
  const name = "student-reports-p0-000000000000-000000000099.parquet";
  expect(parseLakePath(`${hour}/${name}`)).not.toBeNull();
  for (const foreign of [
    `${hour}/.${name}`,
    `${hour}/_${name}`,
    `${hour}/_temporary/0/${name}`,
    `reports/_temporary/0/_temporary/attempt_202611270900_0001_m_000000_0/part-00000-6f1c2d.snappy.parquet`,
    `${hour}/part-00000-6f1c2d-c000.snappy.parquet`,
    `reports/backup/date=2026-11-27/hour=09/${name}`,
  ])
    expect(parseLakePath(foreign)).toBeNull();
});
