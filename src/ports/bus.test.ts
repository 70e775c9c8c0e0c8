import { expect, test } from "bun:test";
import { namespacePrefix, rawTopic, rawTopicName } from "./bus.ts";

test("namespace prefixes: a '.' is added unless the namespace ends with a separator", () => {
  expect(["", "exam", "exam.", "exam-", "exam_", "run_1."].map(namespacePrefix)).toEqual(["", "exam.", "exam.", "exam-", "exam_", "run_1."]);
});

test("raw topics carry their marker; logical names have none", () => {
  expect(rawTopicName(rawTopic("student_report"))).toBe("student_report");
  expect(rawTopicName("student-reports")).toBeNull();
});
