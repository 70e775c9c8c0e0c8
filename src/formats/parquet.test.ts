import { expect, test } from "bun:test";
import { decodeParquet, encodeDeployments, encodeReports } from "./parquet.ts";

test("reports round-trip through Parquet with their Arrow schema", () => {
  const rows = [
    { reportId: "r1", studentId: "s1", exerciseId: "ex.1", score: 12.5, latitude: 48.85, longitude: 2.35, timestamp: 1764230400000, region: "Île-de-France", partition: 2, offset: 7 },
    { reportId: "r2", studentId: "s2", exerciseId: "ex-2", score: 100, latitude: 43.3, longitude: 5.37, timestamp: 1764230401000, region: "unknown", partition: 2, offset: 8 },
  ];
  const bytes = encodeReports(rows);
  expect(new TextDecoder().decode(bytes.slice(0, 4))).toBe("PAR1");
  const t = decodeParquet(bytes);
  expect(t.numRows).toBe(2);
  expect(t.schema.fields.map((f) => f.name)).toEqual(["reportId", "studentId", "exerciseId", "score", "latitude", "longitude", "timestamp", "region", "partition", "offset"]);
  const back = t.toArray().map((r) => r.toJSON());
  expect(back[0].reportId).toBe("r1");
  expect(back[1].region).toBe("unknown");
  expect(Number(back[1].timestamp)).toBe(1764230401000);
  expect(Number(back[1].offset)).toBe(8);
  expect(back[0].score).toBe(12.5);
});

test("deployment reports round-trip", () => {
  const bytes = encodeDeployments([
    { alertId: "alert-r1", reportId: "r1", studentId: "s1", exerciseId: "ex", score: 3, threshold: 50, latitude: 1, longitude: 2, region: "Bretagne", reportedAt: 1, raisedAt: 2, partition: 0, offset: 0 },
  ]);
  const t = decodeParquet(bytes);
  expect(t.numRows).toBe(1);
  expect(t.getChild("alertId")?.get(0)).toBe("alert-r1");
});
