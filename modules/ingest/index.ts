export { ingestRoutes } from "./ingest.ts";
export { RateLimiter } from "./rate-limit.ts";
