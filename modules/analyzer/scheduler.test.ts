import { expect, test } from "bun:test";
import { silentLogger } from "../../src/log.ts";
import { nextTick, Scheduler } from "./scheduler.ts";

test("the next run comes from the schedule: the cron's next tick, null on demand only or once stopped", async () => {
  const before = Date.now();
  const s = new Scheduler<number>("*/5 * * * * *", async () => 1, silentLogger);
  const next = s.nextRun()!.getTime();
  expect(next % 5000).toBe(0); // on the dot of a 5-second tick
  expect(next).toBeGreaterThan(before);
  expect(next).toBeLessThanOrEqual(before + 5000);
  expect(nextTick("*/5 * * * * *")!.getTime()).toBe(next);
  // Every hour at minute 7: never a guess from past runs.
  const hourly = nextTick("0 7 * * * *")!;
  expect([hourly.getMinutes(), hourly.getSeconds(), hourly.getMilliseconds()]).toEqual([7, 0, 0]);
  expect(hourly.getTime() - Date.now()).toBeLessThanOrEqual(3600_000);
  await s.stop();
  expect(s.nextRun()).toBeNull();
  expect(new Scheduler<number>(null, async () => 1, silentLogger).nextRun()).toBeNull();
  expect(nextTick(null)).toBeNull();
});
