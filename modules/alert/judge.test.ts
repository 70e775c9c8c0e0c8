import { expect, test } from "bun:test";
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
  expect(orders[0]!.alertId).toBe("alert-a");
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
