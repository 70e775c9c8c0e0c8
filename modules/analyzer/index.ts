export { startAnalyzer, CELL_SIZE_SETTING, type Analyzer, type AnalyzerDeps, type RunSummary } from "./analyzer.ts";
export { nextTick } from "./scheduler.ts";
export {
  exerciseStats,
  hotspots,
  regionStats,
  recentRuns,
  runsPage,
  responseTimes,
  type AnalyzerRun,
  type ExerciseStat,
  type ExerciseStats,
  type Hotspot,
  type Hotspots,
  type PageRequest,
  type RegionStat,
  type RegionStats,
  type RegionResponseTimes,
  type ResponseStepStat,
  type ResponseTimes,
} from "./queries.ts";
export { windowedReads, type WindowedReads, type ReadDeps } from "./reads.ts";
export {
  trends,
  trendRows,
  trendRange,
  TrendRangeError,
  TREND_BUCKETS,
  MAX_TREND_BUCKETS,
  type TrendBucket,
  type TrendRequest,
  type Trends,
  type TrendPoint,
} from "./trends.ts";
export { ANALYTICS_WINDOWS, TrendsIncompleteError, type AnalyticsWindow, type WindowCover } from "./windows.ts";
