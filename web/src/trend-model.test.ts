import { describe, expect, test } from "bun:test";
import type { Trends } from "./api.ts";
import { brokenPath, niceMax, summarize, timeStep, trendGeometry } from "./trend-model.ts";

const HOUR = 3_600_000;
const FROM = Date.parse("2025-03-11T10:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

/** An answer of /api/analytics/trends: `n` hourly buckets from FROM, the given ones with reports. */
function answer(n: number, filled: Record<number, { reports: number; failures: number; averageScore: number }>, over: Partial<Trends> = {}): Trends {
  return {
    exerciseId: "bsq",
    region: null,
    bucket: "hour",
    periodSeconds: 900,
    from: iso(FROM),
    to: iso(FROM + n * HOUR),
    threshold: 50,
    thresholdChanges: [],
    buckets: Array.from({ length: n }, (_, i) => {
      const f = filled[i];
      return f
        ? {
            start: iso(FROM + i * HOUR),
            reports: f.reports,
            averageScore: f.averageScore,
            failures: f.failures,
            successRate: (f.reports - f.failures) / f.reports,
          }
        : { start: iso(FROM + i * HOUR), reports: 0, averageScore: null, failures: 0, successRate: null };
    }),
    ...over,
  };
}

const BOX = { width: 500, height: 240, margin: { left: 40, right: 20, top: 20, bottom: 20 } };

describe("niceMax", () => {
  test("the smallest of 4, 8, 20, 40, 80, 200… at or above the value, so the four grid steps are whole numbers", () => {
    expect([0, 1, 4, 5, 8, 9, 20, 21, 40, 41, 80, 81, 200, 201, 7999].map(niceMax)).toEqual([4, 4, 4, 8, 8, 20, 20, 40, 40, 80, 80, 200, 200, 400, 8000]);
    for (const n of [3, 17, 123, 4567]) expect(niceMax(n) % 4).toBe(0);
  });
});

describe("timeStep", () => {
  test("labels at least 56 px apart, in hours an operator reads (1, 2, 3, 4, 6, 12, 24)", () => {
    expect(timeStep("hour", 60)).toBe(1);
    expect(timeStep("hour", 20)).toBe(3);
    expect(timeStep("hour", 10)).toBe(6);
    expect(timeStep("hour", 1)).toBe(24);
    expect(timeStep("day", 15)).toBe(5);
  });
});

describe("brokenPath", () => {
  test("a subpath per run of values: a gap lifts the pen", () => {
    expect(brokenPath([{ x: 0, y: 1 }, { x: 10, y: 2 }, null, { x: 30, y: 4 }, { x: 40.04, y: 5.06 }])).toBe("M0 1L10 2M30 4L40 5.1");
    expect(brokenPath([null, null])).toBe("");
  });
});

describe("trendGeometry", () => {
  const t = answer(4, { 0: { reports: 4, failures: 1, averageScore: 62 }, 2: { reports: 10, failures: 6, averageScore: 41 } });
  const g = trendGeometry(t, BOX);

  test("one bar per bucket, in order, each in its slot, failures to scale", () => {
    expect(g.bars.map((b) => [b.start, b.reports, b.failures])).toEqual(t.buckets.map((b) => [b.start, b.reports, b.failures]));
    expect(g.bars.map((b) => b.slotX)).toEqual([40, 150, 260, 370]);
    expect(g.bars.every((b) => b.slotWidth === 110 && b.x > b.slotX && b.x + b.width < b.slotX + b.slotWidth)).toBe(true);
    expect(g.bars[1]!.end).toBe(g.bars[2]!.start);
    // 6 failures at most: the scale goes to 8; the plot is 200 px high.
    expect(g.failureMax).toBe(8);
    expect(g.bars.map((b) => b.height)).toEqual([25, 0, 150, 0]);
    expect(g.bars.map((b) => b.y + b.height)).toEqual([220, 220, 220, 220]);
    expect(g.failureTicks.map((x) => x.value)).toEqual([0, 2, 4, 6, 8]);
    expect(g.percentTicks.map((x) => [x.value, x.at])).toEqual([
      [0, 220],
      [25, 170],
      [50, 120],
      [75, 70],
      [100, 20],
    ]);
  });

  test("the success rate and the score: a point per bucket with reports, at the slot's centre; the line broken at the empty one", () => {
    expect(g.rate.points).toEqual([
      { start: t.buckets[0]!.start, x: 95, y: 220 - 0.75 * 200, value: 0.75 },
      { start: t.buckets[2]!.start, x: 315, y: 220 - 0.4 * 200, value: 0.4 },
    ]);
    expect(g.rate.path).toBe("M95 70M315 140");
    expect(g.score.points.map((p) => [p.x, p.y, p.value])).toEqual([
      [95, 220 - 0.62 * 200, 62],
      [315, 220 - 0.41 * 200, 41],
    ]);
  });

  test("the threshold on the percent scale; its changes at their instant, those outside the range left out", () => {
    expect(g.threshold).toEqual({ y: 120, value: 50 });
    const changed = trendGeometry(
      answer(
        4,
        {},
        {
          threshold: 60,
          thresholdChanges: [
            { at: iso(FROM - HOUR), threshold: 40 },
            { at: iso(FROM + 1.5 * HOUR), threshold: 60 },
            { at: iso(FROM + 5 * HOUR), threshold: 70 },
          ],
        },
      ),
      BOX,
    );
    expect(changed.changes).toEqual([{ x: 205, at: iso(FROM + 1.5 * HOUR), threshold: 60 }]);
    expect(changed.threshold).toEqual({ y: 100, value: 60 });
    expect(trendGeometry(answer(4, {}, { exerciseId: null, threshold: null }), BOX).threshold).toBeNull();
  });

  test("no report at all: empty lines, flat bars, a scale still", () => {
    const empty = trendGeometry(answer(24, {}), BOX);
    expect(empty.bars.length).toBe(24);
    expect(empty.bars.every((b) => b.height === 0)).toBe(true);
    expect(empty.rate).toEqual({ points: [], path: "" });
    expect(empty.failureMax).toBe(4);
    expect(empty.summary).toEqual({ buckets: 24, bucketsWithReports: 0, reports: 0, failures: 0, successRate: null, worst: null });
    // 24 slots of 18.3 px: a label every 4 hours.
    expect(empty.timeTicks.map((x) => x.start)).toEqual([0, 4, 8, 12, 16, 20].map((i) => iso(FROM + i * HOUR)));
  });

  test("day buckets: a slot per day", () => {
    const DAY = 24 * HOUR;
    const days: Trends = {
      ...answer(0, {}),
      bucket: "day",
      to: iso(FROM + 3 * DAY),
      buckets: [0, 1, 2].map((i) => ({ start: iso(FROM + i * DAY), reports: 1, averageScore: 10, failures: 1, successRate: 0 })),
    };
    const gd = trendGeometry(days, { width: 370, height: 100, margin: { left: 40, right: 0, top: 0, bottom: 0 } });
    expect(gd.bars.map((b) => [b.slotX, b.slotWidth])).toEqual([
      [40, 110],
      [150, 110],
      [260, 110],
    ]);
    expect(gd.bars[2]!.end).toBe(iso(FROM + 3 * DAY));
  });
});

describe("summarize", () => {
  test("totals, the rate over the range, the bucket with the most failures (the first of equals)", () => {
    const s = summarize(answer(5, { 1: { reports: 4, failures: 3, averageScore: 30 }, 3: { reports: 6, failures: 3, averageScore: 55 } }));
    expect(s).toEqual({ buckets: 5, bucketsWithReports: 2, reports: 10, failures: 6, successRate: 0.4, worst: { start: iso(FROM + HOUR), failures: 3 } });
  });
});
