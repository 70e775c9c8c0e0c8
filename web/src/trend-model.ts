/**
 * The trend chart's geometry, from a /api/analytics/trends answer: pure (no DOM, no language), so it is
 * unit-tested beside it (trend-model.test.ts) and trend.ts only draws what it says.
 *
 * One slot per bucket along x (oldest left). Failures are bars on the right-hand scale; the success rate
 * and the average score are lines on the left-hand 0–100 % scale, broken where a bucket has no report;
 * the exercise's current threshold (a score, 0–100) is a horizontal line on that scale, and each
 * threshold change a vertical marker at its instant.
 */
import type { Trends } from "./api.ts";

export interface TrendBar {
  start: string;
  /** Exclusive end of the bucket (ISO). */
  end: string;
  reports: number;
  failures: number;
  successRate: number | null;
  averageScore: number | null;
  /** The slot: x and width of the whole bucket; the bar drawn is narrower, centred. */
  slotX: number;
  slotWidth: number;
  x: number;
  width: number;
  /** Top of the failures bar and its height (0 without failures). */
  y: number;
  height: number;
  /** Centre of the slot, where its points are drawn. */
  cx: number;
}

export interface TrendPointXY {
  start: string;
  x: number;
  y: number;
  value: number;
}

export interface Tick {
  /** Position along the axis (y for the value axes, x for time). */
  at: number;
  value: number;
}

export interface TimeTick {
  x: number;
  start: string;
}

export interface TrendGeometry {
  width: number;
  height: number;
  plot: { left: number; top: number; right: number; bottom: number };
  bars: TrendBar[];
  /** The success rate (0..1) of the buckets with reports, as points and as a path broken at empty buckets. */
  rate: { points: TrendPointXY[]; path: string };
  /** The average score (0..100), the same way. */
  score: { points: TrendPointXY[]; path: string };
  threshold: { y: number; value: number } | null;
  changes: Array<{ x: number; at: string; threshold: number }>;
  /** Left scale, in percent: 0, 25, 50, 75, 100. */
  percentTicks: Tick[];
  /** Right scale, failures per bucket, on the same grid lines. */
  failureTicks: Tick[];
  failureMax: number;
  timeTicks: TimeTick[];
  summary: TrendSummary;
}

export interface TrendSummary {
  buckets: number;
  bucketsWithReports: number;
  reports: number;
  failures: number;
  /** Over the whole range: (reports − failures) / reports; null without reports. */
  successRate: number | null;
  /** The bucket with the most failures (the first of equals); null without failures. */
  worst: { start: string; failures: number } | null;
}

export const BUCKET_MS = { hour: 3_600_000, day: 86_400_000 } as const;
const GRID_LINES = 4;

/**
 * The smallest "nice" maximum ≥ n for a scale of GRID_LINES steps whose labels are whole numbers:
 * 4 × (1, 2, 5) × 10^k — 4, 8, 20, 40, 80, 200, …
 */
export function niceMax(n: number): number {
  const need = Math.max(1, Math.ceil(n));
  for (let k = 1; ; k *= 10) {
    for (const m of [1, 2, 5]) {
      const max = GRID_LINES * m * k;
      if (max >= need) return max;
    }
  }
}

/** The hours (or days) between time labels, so that labels are at least `minGap` px apart. */
export function timeStep(bucket: Trends["bucket"], slotWidth: number, minGap = 56): number {
  const steps = bucket === "hour" ? [1, 2, 3, 4, 6, 12, 24] : [1, 2, 5, 7, 14, 30];
  for (const s of steps) if (s * slotWidth >= minGap) return s;
  return steps.at(-1)!;
}

/** An SVG path through the points, a new subpath after each gap (a missing value). */
export function brokenPath(points: Array<{ x: number; y: number } | null>): string {
  let d = "";
  let pen = false;
  for (const p of points) {
    if (!p) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${round(p.x)} ${round(p.y)}`;
    pen = true;
  }
  return d;
}

const round = (v: number) => Math.round(v * 10) / 10;

export function summarize(t: Pick<Trends, "buckets">): TrendSummary {
  let reports = 0,
    failures = 0,
    withReports = 0;
  let worst: TrendSummary["worst"] = null;
  for (const b of t.buckets) {
    reports += b.reports;
    failures += b.failures;
    if (b.reports > 0) withReports++;
    if (b.failures > 0 && (!worst || b.failures > worst.failures)) worst = { start: b.start, failures: b.failures };
  }
  return {
    buckets: t.buckets.length,
    bucketsWithReports: withReports,
    reports,
    failures,
    successRate: reports > 0 ? (reports - failures) / reports : null,
    worst,
  };
}

/** Where everything goes in a `width` × `height` box; a time label every timeStep-th bucket from the first. */
export function trendGeometry(
  t: Pick<Trends, "bucket" | "from" | "to" | "threshold" | "thresholdChanges" | "buckets">,
  box: { width: number; height: number; margin?: { left: number; right: number; top: number; bottom: number } },
): TrendGeometry {
  const m = box.margin ?? { left: 40, right: 36, top: 14, bottom: 26 };
  const plot = { left: m.left, top: m.top, right: Math.max(m.left + 1, box.width - m.right), bottom: Math.max(m.top + 1, box.height - m.bottom) };
  const plotW = plot.right - plot.left;
  const plotH = plot.bottom - plot.top;
  const size = BUCKET_MS[t.bucket];
  const fromMs = Date.parse(t.from);
  const toMs = Math.max(Date.parse(t.to), fromMs + size);
  const xOf = (ms: number) => plot.left + ((ms - fromMs) / (toMs - fromMs)) * plotW;
  const yPct = (ratio: number) => plot.bottom - Math.min(1, Math.max(0, ratio)) * plotH;

  const failureMax = niceMax(Math.max(0, ...t.buckets.map((b) => b.failures)));
  const bars: TrendBar[] = t.buckets.map((b) => {
    const startMs = Date.parse(b.start);
    const slotX = xOf(startMs);
    const slotWidth = xOf(startMs + size) - slotX;
    const width = Math.max(1, slotWidth * 0.64);
    const height = (b.failures / failureMax) * plotH;
    return {
      start: b.start,
      end: new Date(startMs + size).toISOString(),
      reports: b.reports,
      failures: b.failures,
      successRate: b.successRate,
      averageScore: b.averageScore,
      slotX,
      slotWidth,
      x: slotX + (slotWidth - width) / 2,
      width,
      y: plot.bottom - height,
      height,
      cx: slotX + slotWidth / 2,
    };
  });

  const line = (value: (b: TrendBar) => number | null, scale: number) => {
    const xy = bars.map((b) => {
      const v = b.reports > 0 ? value(b) : null;
      return v === null ? null : { start: b.start, x: b.cx, y: yPct(v / scale), value: v };
    });
    return { points: xy.filter((p): p is TrendPointXY => p !== null), path: brokenPath(xy) };
  };

  const percentTicks = Array.from({ length: GRID_LINES + 1 }, (_, i) => ({ at: yPct(i / GRID_LINES), value: (100 * i) / GRID_LINES }));
  const failureTicks = Array.from({ length: GRID_LINES + 1 }, (_, i) => ({ at: yPct(i / GRID_LINES), value: (failureMax * i) / GRID_LINES }));
  const slot = bars[0]?.slotWidth ?? plotW;
  const step = timeStep(t.bucket, slot);
  const timeTicks = bars.filter((_, i) => i % step === 0).map((b) => ({ x: b.slotX, start: b.start }));

  return {
    width: box.width,
    height: box.height,
    plot,
    bars,
    rate: line((b) => b.successRate, 1),
    score: line((b) => b.averageScore, 100),
    threshold: t.threshold === null ? null : { y: yPct(t.threshold / 100), value: t.threshold },
    changes: t.thresholdChanges
      .map((c) => ({ ms: Date.parse(c.at), ...c }))
      .filter((c) => c.ms >= fromMs && c.ms <= toMs)
      .map((c) => ({ x: xOf(c.ms), at: c.at, threshold: c.threshold })),
    percentTicks,
    failureTicks,
    failureMax,
    timeTicks,
    summary: summarize(t),
  };
}
