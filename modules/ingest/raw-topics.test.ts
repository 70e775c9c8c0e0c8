import { expect, test } from "bun:test";
import { parseRecord } from "./raw-topics.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

test("a raw record is refused naming why: not UTF-8 JSON, nested past the bound, a field wrong", () => {
  expect(parseRecord(new Uint8Array([0xff, 0xfe]), "acu")).toBe("message is not JSON (UTF-8)");
  expect(parseRecord(bytes("{not json"), "acu")).toBe("message is not JSON (UTF-8)");
  expect(parseRecord(bytes(`${"[".repeat(50_000)}${"]".repeat(50_000)}`), "acu")).toBe("message nests arrays and objects deeper than 16 levels");
  expect(parseRecord(bytes(JSON.stringify({ login: "x", latitude: 1, longitude: 1, exercise: 3, score: 101, timestamp: 1 })), "original")).toContain("score");
  expect(
    parseRecord(bytes(JSON.stringify({ login: "jdoe", latitude: 48.85, longitude: 2.35, exercise: 3, score: 35, timestamp: 1_764_622_000 })), "original"),
  ).toMatchObject({
    studentId: "jdoe",
    exerciseId: "3",
    timestamp: 1_764_622_000_000,
  });
});
