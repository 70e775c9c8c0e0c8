export { ingestRoutes } from "./ingest.ts";
export { ExerciseCatalogue } from "./catalogue.ts";
export { IngestLimits, RateLimiter } from "./rate-limit.ts";
