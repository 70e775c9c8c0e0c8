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
