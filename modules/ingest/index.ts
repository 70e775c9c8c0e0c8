export { ingestRoutes } from "./ingest.ts";
