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
