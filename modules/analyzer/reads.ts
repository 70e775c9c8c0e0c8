import type { ThresholdSnapshot } from "../../src/domain/threshold.ts";
import type { SqlRunner } from "../../src/ports/warehouse.ts";
import { exerciseStats, hotspots, regionStats, type ExerciseStats, type Hotspots, type PageRequest, type RegionStats } from "./queries.ts";
import { trends, type TrendRequest, type Trends } from "./trends.ts";
import { type AnalyticsWindow, type WindowCover, windowCover, windowStart } from "./windows.ts";

export interface ReadDeps {
  warehouse: SqlRunner;
  /** The thresholds every read judges failures by (the current ones). */
  thresholds: () => Promise<ThresholdSnapshot>;
  cellSizeDeg: number;
  /** The configured trend period, for a warehouse no run has pinned one in yet. */
  trendPeriodSeconds: number;
  now?: () => number;
}

/** The warehouse reads of the API: each over a window (cumulative for "all"), saying what it covers; and its trends. */
export function windowedReads(d: ReadDeps) {
  const now = d.now ?? Date.now;
  const w = d.warehouse;
  const start = (window: AnalyticsWindow) => windowStart(w, window, now(), d.trendPeriodSeconds);
  return {
    async exercises(page: PageRequest | undefined, window: AnalyticsWindow): Promise<ExerciseStats & { window: WindowCover }> {
      const from = await start(window);
      return { ...(await exerciseStats(w, await d.thresholds(), page, from)), window: windowCover(window, from) };
    },
    async hotspots(exerciseId: string, limit: number, window: AnalyticsWindow): Promise<Hotspots & { window: WindowCover }> {
      const from = await start(window);
      return { ...(await hotspots(w, await d.thresholds(), exerciseId, limit, d.cellSizeDeg, from)), window: windowCover(window, from) };
    },
    async regions(exerciseId: string | null, window: AnalyticsWindow): Promise<RegionStats & { window: WindowCover }> {
      const from = await start(window);
      return { ...(await regionStats(w, await d.thresholds(), exerciseId ?? undefined, from)), window: windowCover(window, from) };
    },
    async trends(req: Omit<TrendRequest, "nowMs" | "configuredPeriodSeconds">): Promise<Trends> {
      return trends(w, await d.thresholds(), { ...req, nowMs: now(), configuredPeriodSeconds: d.trendPeriodSeconds });
    },
  };
}
export type WindowedReads = ReturnType<typeof windowedReads>;
