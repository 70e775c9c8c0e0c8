import type { MiddlewareHandler } from "hono";
import { MAX_BODY_BYTES } from "../../src/domain/report.ts";
import { metrics } from "../../src/metrics.ts";

/**
 * The bodies ingest is taking at once, bounded in bytes. Each request holds its body, its decoded reports
 * and their encoded messages until its publish settles, so without a bound a crowd of laptops sending at
 * once while the brokers are slow (each request waiting up to its publish deadline) costs memory in
 * proportion to the crowd. Beyond the bound a request is refused before its body is read: 503 +
 * Retry-After, nothing accepted. A body's size is its Content-Length, or the largest body allowed when it
 * declares none (chunked). One request alone is always admitted, so a bound below one body cannot wedge.
 * The default (src/config, 32 MiB) is ~160 full batches; exam traffic (single reports, tens in flight)
 * uses kilobytes of it.
 */
export class IngestAdmission {
  private taken = 0;

  constructor(readonly boundBytes: number) {
    if (!(Number.isInteger(boundBytes) && boundBytes > 0))
      throw new Error(`ingest in-flight bound must be a positive whole number of bytes, got ${boundBytes}`);
  }

  get inFlightBytes(): number {
    return this.taken;
  }

  /** Reserves `bytes`: the release, to call once the request is answered, or null when over the bound. */
  admit(bytes: number): (() => void) | null {
    if (this.taken > 0 && this.taken + bytes > this.boundBytes) return null;
    this.taken += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.taken -= bytes;
    };
  }

  /** The middleware: admitted requests go on and release when answered; the others get their 503 here. */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const declared = Number(c.req.header("content-length"));
      const bytes = Number.isInteger(declared) && declared >= 0 ? Math.min(declared, MAX_BODY_BYTES) : MAX_BODY_BYTES;
      const release = this.admit(bytes);
      if (!release) {
        metrics.reportsRejected.inc({ reason: "busy" });
        return c.json(
          {
            error: `ingest is taking ${this.taken} bytes of reports already (ACU_INGEST_INFLIGHT_BYTES ${this.boundBytes}): nothing accepted; retry after Retry-After`,
          },
          503,
          { "Retry-After": "1" },
        );
      }
      try {
        await next();
      } finally {
        release();
      }
    };
  }
}
