import { expect, test } from "bun:test";
import { createLogger, memoryLogger } from "./log.ts";

test("json lines carry level, time and msg, and the fields", () => {
  const lines: string[] = [];
  const log = createLogger({ format: "json", level: "info", write: (l) => lines.push(l) });
  log.info("sink: flushed", { files: 2 });
  log.debug("not shown at info");
  log.child({ component: "alert" }).warn("slow");
  const parsed = lines.map((l) => JSON.parse(l));
  expect(parsed.map((p) => [p.level, p.msg])).toEqual([
    ["info", "sink: flushed"],
    ["warn", "slow"],
  ]);
  expect(parsed[0].files).toBe(2);
  expect(parsed[1].component).toBe("alert");
  for (const p of parsed) expect(Number.isNaN(Date.parse(p.time))).toBe(false);
});

test("text lines are one human line each, with the level and the fields", () => {
  const lines: string[] = [];
  const log = createLogger({ format: "text", level: "debug", write: (l) => lines.push(l) });
  log.error("lake: write failed", { path: "reports/x.parquet" });
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^\[\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\] ERROR: lake: write failed .*reports\/x\.parquet/);
  expect(lines[0]!.trimEnd().includes("\n")).toBe(false);
});

test("the memory logger keeps parsed lines with child bindings", () => {
  const log = memoryLogger();
  log.child({ role: "sink" }).info("hello", { n: 1 });
  expect(log.lines).toEqual([{ role: "sink", n: 1, level: "info", msg: "hello" }]);
});
