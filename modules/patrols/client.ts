import { z } from "zod";
import { incidentSchema, patrolSchema, type IncidentJson, type PatrolJson } from "../http/dispatch-schemas.ts";

export type { IncidentJson, PatrolJson };

/**
 * What a patrol's phone (or the simulator standing in for twenty of them) can do with the dispatch API,
 * in the API's own shapes (its `Patrol` and `Incident` schemas). The real client is HTTP + WebSocket
 * (http-client.ts); tests drive the same simulator through the dispatch service itself.
 */

/**
 * Frames of `WS /api/patrols/{patrolId}/stream`: at once (and first after every reconnect) the current
 * assignment, then every change of an incident the patrol holds or held, and of the patrol itself; `hello`
 * once the replay from `since` is done, `gap` when changes since it are no longer kept (the current
 * assignment follows).
 */
export const patrolFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("assignment"), incident: incidentSchema.nullable(), patrol: patrolSchema, cursor: z.string() }),
  z.object({ type: z.literal("incident"), incident: incidentSchema, cursor: z.string() }),
  z.object({ type: z.literal("patrol"), patrol: patrolSchema, cursor: z.string() }),
  z.object({ type: z.literal("hello"), cursor: z.string() }),
  z.object({ type: z.literal("gap"), cursor: z.string() }),
]);
export type PatrolFrame = z.infer<typeof patrolFrameSchema>;

export interface StreamHandlers {
  onFrame(frame: PatrolFrame): void;
  /** The stream ended without `close()` being called (dropped connection, server gone, refused). */
  onClose(reason: string): void;
}

export interface PatrolStream {
  /** Ends the stream; onClose is not called. */
  close(): void;
}

export interface DispatchClient {
  register(patrolId: string, name: string, latitude: number, longitude: number): Promise<PatrolJson>;
  position(patrolId: string, latitude: number, longitude: number): Promise<PatrolJson>;
  acknowledge(incidentId: string, patrolId: string): Promise<IncidentJson>;
  enRoute(incidentId: string, patrolId: string): Promise<IncidentJson>;
  arrive(incidentId: string, patrolId: string): Promise<IncidentJson>;
  resolve(incidentId: string, patrolId: string, note: string): Promise<IncidentJson>;
  /** The patrol's stream from `since` (a frame's cursor), or from its current assignment when null. */
  openStream(patrolId: string, since: string | null, handlers: StreamHandlers): PatrolStream;
}

/** The API refused the request for what it is (400, 401, 403, 404, 409): sending it again would not help. */
export class DispatchRefusedError extends Error {
  override name = "DispatchRefusedError";
  constructor(
    readonly status: number,
    message: string,
    /** On a 409: the incident's (or patrol's) current state. */
    readonly state?: string,
  ) {
    super(message);
  }
}

/** The API could not be reached or could not answer now (network error, 5xx, 429 past the retries): try later. */
export class DispatchUnreachableError extends Error {
  override name = "DispatchUnreachableError";
}
