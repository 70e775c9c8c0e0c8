/** The configuration: its sections and descriptors are in src/config/. */
export * from "./config/index.ts";
export { maskUrl } from "./redact.ts";
