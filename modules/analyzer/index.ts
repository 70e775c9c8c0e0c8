export { startAnalyzer, CELL_SIZE_SETTING, type Analyzer, type AnalyzerDeps, type RunSummary } from "./analyzer.ts";
export {
  exerciseStats,
  hotspots,
  regionStats,
  recentRuns,
  responseTimes,
  type AnalyzerRun,
  type ExerciseStat,
  type ExerciseStats,
  type Hotspot,
  type Hotspots,
  type RegionStat,
  type RegionStats,
  type RegionResponseTimes,
  type ResponseStepStat,
  type ResponseTimes,
} from "./queries.ts";
