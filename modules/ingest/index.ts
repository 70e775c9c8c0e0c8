export { ingestRoutes } from "./ingest.ts";
export { IngestAdmission } from "./admission.ts";
export { ExerciseCatalogue } from "./catalogue.ts";
export { IngestLimits, RateLimiter } from "./rate-limit.ts";
export { RAW_INGEST_GROUP, startRawIngest, type RawTopicSource } from "./raw-topics.ts";
