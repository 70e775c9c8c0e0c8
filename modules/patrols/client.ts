import type { IncidentState, IncidentTimes, PatrolStatus } from "../../src/domain/incident-event.ts";

/**
 * What a patrol's phone (or the simulator standing in for twenty of them) can do with the dispatch API,
 * in the API's own shapes (the `Patrol` and `Incident` objects of the HTTP contract). The real client is
 * HTTP + WebSocket (http-client.ts); tests drive the same simulator through the dispatch service itself.
 */
export interface PatrolJson {
  patrolId: string;
  name: string;
  status: PatrolStatus;
  latitude: number;
  longitude: number;
  positionAt: number;
  incidentId: string | null;
}

export interface IncidentJson {
  incidentId: string;
  studentId: string;
  state: IncidentState;
  patrolId: string | null;
  exerciseId: string;
  lowestScore: number;
  orderCount: number;
  alertIds: string[];
  latitude: number;
  longitude: number;
  region: string;
  place: string;
  times: IncidentTimes;
  note: string;
  /** Grows with every change of this incident: a frame with a revision already seen is old news. */
  revision: number;
}

/**
 * Frames of `WS /api/patrols/{patrolId}/stream`: at once (and first after every reconnect) the current
 * assignment, then every change of an incident the patrol holds or held, and of the patrol itself; `hello`
 * once the replay from `since` is done, `gap` when changes since it are no longer kept (the current
 * assignment follows).
 */
export type PatrolFrame =
  | { type: "assignment"; incident: IncidentJson | null; patrol: PatrolJson; cursor: string }
  | { type: "incident"; incident: IncidentJson; cursor: string }
  | { type: "patrol"; patrol: PatrolJson; cursor: string }
  | { type: "hello"; cursor: string }
  | { type: "gap"; cursor: string };

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
