import type { MiddlewareHandler } from "hono";
import type { Logger } from "../../src/log.ts";
import { metrics } from "../../src/metrics.ts";
import type { AuthEnv } from "./auth.ts";

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);
const MAX_PATH = 256;

/** A method as logged and labelled: one of the usual ones, else "OTHER" (label values stay few). */
export const methodLabel = (m: string) => (METHODS.has(m) ? m : "OTHER");

/**
 * A request path fit for a log line: every byte outside printable ASCII percent-encoded (no newline or
 * control character a client could slip into a log), at most 256 characters.
 */
export function escapePath(path: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(path)) {
    out += b > 0x20 && b < 0x7f && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
    if (out.length > MAX_PATH) return `${out.slice(0, MAX_PATH)}…`;
  }
  return out;
}

/**
 * One access line per request and its duration in acu_http_request_duration_seconds: method, route
 * pattern (never the raw path in the message), status, milliseconds, the token's id (never the token).
 * Outermost middleware, so it sees the final status of refusals and errors too.
 */
export function accessLog(log: Logger): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const t0 = performance.now();
    await next();
    const ms = performance.now() - t0;
    const method = methodLabel(c.req.method);
    const route = c.get("route")?.def?.route.path ?? "unmatched";
    const status = c.get("upgraded") ? 101 : c.res.status;
    const tokenId = c.get("principal")?.id ?? null;
    metrics.httpRequestSeconds.observe({ method, route, status: String(status) }, ms / 1000);
    log.info(`http: ${method} ${route} ${status} ${ms.toFixed(1)} ms`, {
      access: true,
      method,
      route,
      status,
      durationMs: Math.round(ms * 100) / 100,
      tokenId,
      path: escapePath(c.req.path),
    });
  };
}
