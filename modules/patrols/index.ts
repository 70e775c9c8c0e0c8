export {
  DispatchRefusedError,
  DispatchUnreachableError,
  type DispatchClient,
  type IncidentJson,
  type PatrolFrame,
  type PatrolJson,
  type PatrolStream,
  type StreamHandlers,
} from "./client.ts";
export { HttpDispatchClient, parsePatrolFrame, type HttpDispatchClientOptions } from "./http-client.ts";
export { placePatrols, type PatrolPlacement } from "./fleet.ts";
export { PatrolSim, emptyPatrolStats, type PatrolBehaviour, type PatrolStats } from "./patrol-sim.ts";
export {
  checkSimulatorOptions,
  MAX_SIMULATED_PATROLS,
  runPatrolSimulator,
  SIMULATOR_DEFAULTS,
  startPatrolSimulator,
  sumStats,
  type PatrolSimulator,
  type PatrolSimulatorOptions,
} from "./simulator.ts";
export { driveToward, interpolate, type Point } from "./travel.ts";
