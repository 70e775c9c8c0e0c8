import type { IncidentState, PatrolStatus } from "./incident-event.ts";

/**
 * What a dispatch operation refuses, typed so the HTTP API maps each to its status without reading
 * messages: not found → 404, forbidden → 403, conflict → 409 (with the current state), input → 400,
 * unavailable → 503. Every message names what is wrong.
 */
export class DispatchError extends Error {
  override name = "DispatchError";
}

/** No incident or patrol with that id. */
export class DispatchNotFoundError extends DispatchError {
  override name = "DispatchNotFoundError";
  constructor(
    readonly kind: "incident" | "patrol",
    readonly id: string,
  ) {
    super(`no ${kind} ${id}`);
  }
}

/** A patrol acting on an incident another patrol holds. */
export class DispatchForbiddenError extends DispatchError {
  override name = "DispatchForbiddenError";
  constructor(
    message: string,
    readonly incidentId: string,
    /** The patrol that holds the incident. */
    readonly holder: string | null,
  ) {
    super(message);
  }
}

/** The operation is not possible in the current state: an illegal transition, a busy patrol, a patrol off duty. */
export class DispatchConflictError extends DispatchError {
  override name = "DispatchConflictError";
  constructor(
    message: string,
    /** The current state of the incident (or status of the patrol) that refused it. */
    readonly state: IncidentState | PatrolStatus,
    readonly subject: { kind: "incident" | "patrol"; id: string },
  ) {
    super(message);
  }
}

/** An input the edge should have refused (bad id, coordinate, note, cursor). */
export class DispatchInputError extends DispatchError {
  override name = "DispatchInputError";
}

/** The store could not take the change now (unreachable, or contention beyond the retries); the caller may retry. */
export class DispatchUnavailableError extends DispatchError {
  override name = "DispatchUnavailableError";
}
