import { expect, test } from "bun:test";
import { decodeReport, deriveReportId, encodeReport, parseReportBatch } from "./report.ts";

const good = { studentId: "s1", exerciseId: "c00.ex00", score: 42.5, latitude: 48.85, longitude: 2.35, timestamp: "2026-11-27T09:00:00Z" };

test("a valid report is accepted, unknown fields dropped, ISO timestamp turned into epoch ms", () => {
  const r = parseReportBatch({ ...good, extra: "ignored" });
  expect(r.ok).toBe(true);
  if (!r.ok) return;
  expect(r.reports[0]).toEqual({ studentId: "s1", exerciseId: "c00.ex00", score: 42.5, latitude: 48.85, longitude: 2.35, timestamp: Date.parse("2026-11-27T09:00:00Z") });
});

test("epoch milliseconds are accepted as a timestamp", () => {
  const r = parseReportBatch([{ ...good, timestamp: 1764234000000 }]);
  expect(r.ok && r.reports[0]!.timestamp).toBe(1764234000000);
});

test("every bad field of every item is named, and nothing is accepted", () => {
  const r = parseReportBatch([good, { ...good, score: 101, latitude: "north" }, { studentId: "", exerciseId: "a b", timestamp: "yesterday" }]);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  const at = r.issues.map((i) => `${i.index}:${i.path}`);
  expect(at).toContain("1:score");
  expect(at).toContain("1:latitude");
  expect(at).toContain("2:studentId");
  expect(at).toContain("2:exerciseId");
  expect(at).toContain("2:timestamp");
  expect(at).toContain("2:score");
  expect(at).toContain("2:longitude");
  expect(at.some((a) => a.startsWith("0:"))).toBe(false);
});

test("batch limits: empty, over 1000, non-object items", () => {
  expect(parseReportBatch([]).ok).toBe(false);
  expect(parseReportBatch(Array.from({ length: 1001 }, () => good)).ok).toBe(false);
  expect(parseReportBatch(Array.from({ length: 1000 }, () => good)).ok).toBe(true);
  const r = parseReportBatch([1, null, "x"]);
  expect(!r.ok && r.issues.length).toBe(3);
  expect(parseReportBatch(null).ok).toBe(false);
});

test("NaN-like and infinite numbers are refused", () => {
  for (const score of [Infinity, -Infinity, NaN, "50", 1e309]) expect(parseReportBatch({ ...good, score }).ok).toBe(false);
});

test("the derived report id is deterministic and depends on student, exercise and time", () => {
  const a = deriveReportId({ studentId: "s", exerciseId: "e", timestamp: 1 });
  expect(deriveReportId({ studentId: "s", exerciseId: "e", timestamp: 1 })).toBe(a);
  expect(deriveReportId({ studentId: "s", exerciseId: "e", timestamp: 2 })).not.toBe(a);
  expect(deriveReportId({ studentId: "s2", exerciseId: "e", timestamp: 1 })).not.toBe(a);
  expect(a).toMatch(/^[0-9a-f]{32}$/);
});

test("bus messages decode back, and malformed ones fail with a reason", () => {
  const r = { reportId: "r", studentId: "s", exerciseId: "e", score: 1, latitude: 2, longitude: 3, timestamp: 4, region: "Bretagne" };
  expect(decodeReport(encodeReport(r))).toEqual(r);
  expect(() => decodeReport("{")).toThrow("not JSON");
  expect(() => decodeReport(JSON.stringify({ ...r, score: "high" }))).toThrow("score");
  expect(() => decodeReport(new Uint8Array([0xff, 0xfe]))).toThrow();
});
