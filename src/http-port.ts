/**
 * The HTTP port, held from the start of a run: a port in use fails the start at once (exit 1), before any
 * engine opens or role starts, instead of after them. Until the server takes it over, requests get 503.
 */
export interface PortReservation {
  readonly port: number;
  /** Frees the port for the server, which binds it in the same turn of the event loop; once. */
  release(): void;
}

export class PortInUseError extends Error {
  override name = "PortInUseError";
}

export function reservePort(hostname: string, port: number): PortReservation {
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname,
      port,
      fetch: () => Response.json({ error: "acu is starting; retry shortly" }, { status: 503, headers: { "Retry-After": "1" } }),
    });
  } catch (e) {
    throw portError(e, hostname, port);
  }
  let held = true;
  return {
    port: server.port!,
    release() {
      if (held) void server.stop(true);
      held = false;
    },
  };
}

/** Bun's bind error, said with the port and the settings that choose it. */
export function portError(e: unknown, hostname: string, port: number): Error {
  if ((e as { code?: string }).code === "EADDRINUSE")
    return new PortInUseError(`port ${port} on ${hostname} is already in use (--port, ACU_HTTP_PORT): stop what holds it or choose another port`);
  return e as Error;
}
