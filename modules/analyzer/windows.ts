import type { SqlRunner } from "../../src/ports/warehouse.ts";
import { DEFAULT_TREND_PERIOD_SECONDS, isTrendPeriod } from "../../src/domain/trend-period.ts";
import { TREND_PERIOD_SETTING, TRENDS_INCOMPLETE_SETTING } from "./merge.ts";

/** The time windows the exercises, regions and hotspots read: the last hour, the last 24 hours, or everything (the cumulative tables). */
export const ANALYTICS_WINDOWS = ["1h", "24h", "all"] as const;
export type AnalyticsWindow = (typeof ANALYTICS_WINDOWS)[number];
const WINDOW_SECONDS: Record<Exclude<AnalyticsWindow, "all">, number> = { "1h": 3600, "24h": 86_400 };

/** What a windowed answer covers: reports whose timestamp is at or after `from` (ISO 8601); null: all of them. */
export interface WindowCover {
  window: AnalyticsWindow;
  from: string | null;
}

/** The trend tables miss lake files counted before they existed: a windowed or trend answer would silently leave those reports out. */
export class TrendsIncompleteError extends Error {
  override readonly name = "TrendsIncompleteError";
}

/**
 * The trend period the tables were built with (the configured one before the first run); refuses while
 * they are incomplete (migration 003_trends on a warehouse that had counted files, until a rebuild).
 */
export async function trendPeriod(w: SqlRunner, configured: number = DEFAULT_TREND_PERIOD_SECONDS): Promise<number> {
  const rows = await w.query<{ key: string; value: string }>(`SELECT key, value FROM analyzer_settings WHERE key = ANY($1::text[])`, [
    [TREND_PERIOD_SETTING, TRENDS_INCOMPLETE_SETTING],
  ]);
  const incomplete = rows.find((r) => r.key === TRENDS_INCOMPLETE_SETTING);
  if (incomplete) throw new TrendsIncompleteError(`trends and windows are not available: ${incomplete.value}`);
  const stored = Number(rows.find((r) => r.key === TREND_PERIOD_SETTING)?.value);
  return isTrendPeriod(stored) ? stored : configured;
}

/**
 * The first period (epoch seconds) a window reads: the one holding now − window, so the answer covers
 * the whole window and at most one period more (a 15-minute period: "1h" reads 60 to 75 minutes). null: "all".
 */
export async function windowStart(w: SqlRunner, window: AnalyticsWindow, nowMs: number, configuredPeriod?: number): Promise<number | null> {
  if (window === "all") return null;
  const period = await trendPeriod(w, configuredPeriod);
  return Math.floor((nowMs / 1000 - WINDOW_SECONDS[window]) / period) * period;
}

export function windowCover(window: AnalyticsWindow, start: number | null): WindowCover {
  return { window, from: start === null ? null : new Date(start * 1000).toISOString() };
}
