import { expect, test } from "bun:test";
import { alertIdFor } from "../../src/domain/deployment-order.ts";
import { encodeReport, type Report } from "../../src/domain/report.ts";
import type { BusRecord } from "../../src/ports/bus.ts";
import { judgeBatch } from "./judge.ts";

const enc = new TextEncoder();
const rec = (value: string, offset: number): BusRecord => ({
  topic: "student-reports",
  partition: 0,
  offset,
  key: "k",
  value: enc.encode(value),
  timestamp: 0,
});
const report = (id: string, exerciseId: string, score: number): Report => ({
  reportId: id,
  studentId: "s",
  exerciseId,
  score,
  latitude: 48.8,
  longitude: 2.3,
  timestamp: 1000,
  region: "Île-de-France",
});

test("an order for each score strictly below its exercise's threshold; the default elsewhere", () => {
  const snap = { defaultThreshold: 50, thresholds: { hard: 30 }, revision: 3 };
  const { orders, deadLetters } = judgeBatch(
    [
      rec(encodeReport(report("a", "easy", 49.99)), 0),
      rec(encodeReport(report("b", "easy", 50)), 1),
      rec(encodeReport(report("c", "hard", 29)), 2),
      rec(encodeReport(report("d", "hard", 30)), 3),
    ],
    snap,
    5000,
  );
  expect(deadLetters).toEqual([]);
  expect(orders.map((o) => [o.reportId, o.threshold])).toEqual([
    ["a", 50],
    ["c", 30],
  ]);
  expect(orders[0]!.alertId).toBe(alertIdFor("s", "a"));
  expect(orders[0]!.raisedAt).toBe(5000);
  expect(orders[0]!.reportedAt).toBe(1000);
});

test("malformed messages become dead letters with their reason and position, and do not stop the batch", () => {
  const { orders, deadLetters } = judgeBatch(
    [rec("not json", 7), rec(encodeReport(report("x", "e", 1)), 8)],
    { defaultThreshold: 50, thresholds: {}, revision: 1 },
    0,
  );
  expect(orders.length).toBe(1);
  expect(deadLetters).toEqual([
    { reason: "message is not JSON", topic: "student-reports", partition: 0, offset: 7, value: Buffer.from("not json").toString("base64") },
  ]);
});

test("an order's alert id names its student and its report: the same on every replay, another for another student's report of that id", () => {
  const snap = { defaultThreshold: 50, thresholds: {}, revision: 1 };
  const of = (studentId: string, reportId: string) => ({ ...report(reportId, "e", 10), studentId });
  const ids = (reports: Report[]) =>
    judgeBatch(
      reports.map((r, i) => rec(encodeReport(r), i)),
      snap,
      0,
    ).orders.map((o) => o.alertId);
  const [a, b, a2] = ids([of("s-a", "r-7"), of("s-b", "r-7"), of("s-a", "r-7")]);
  // Stable across processes and releases: orders already on the bus and in the lake keep meaning the same report.
  expect(a).toBe("alert-c674b89aed20db0530ada56e96277b52");
  expect(a2).toBe(a);
  expect(b).not.toBe(a);
  // Ids of any length, any characters: unambiguous (the student id's length first), bounded.
  expect(alertIdFor("1:s", "a")).not.toBe(alertIdFor("1", ":sa"));
  expect(alertIdFor("x".repeat(64), "🙂".repeat(64))).toMatch(/^alert-[0-9a-f]{32}$/);
});
