export { Readiness, type EngineProbe, type ReadinessOptions, type ReadyState } from "./readiness.ts";
export { startOpsServer } from "./ops-server.ts";
export { healthcheck, healthcheckUrl } from "./healthcheck.ts";
