import {
  DispatchConflictError, DispatchForbiddenError, DispatchInputError, DispatchNotFoundError, DispatchUnavailableError,
} from "../../src/domain/dispatch-errors.ts";
import type { Incident } from "../../src/domain/incident.ts";
import type { Patrol } from "../../src/domain/patrol.ts";
import type { DispatchService } from "../dispatch/index.ts";
import {
  DispatchRefusedError, DispatchUnreachableError, type DispatchClient, type IncidentJson, type PatrolFrame, type PatrolJson, type PatrolStream, type StreamHandlers,
} from "./client.ts";

/**
 * The dispatch client without the network: the dispatch service itself (the real one, on a real store),
 * each call as a patrol's token would make it, refusals as the API's statuses, and the patrol's stream
 * made from the service's change feed the way the contract says (its assignment first, then every change
 * of an incident it holds or held, and of the patrol). For tests of the simulator in one process.
 */
export class ServiceDispatchClient implements DispatchClient {
  constructor(private readonly service: DispatchService) {}

  register(patrolId: string, name: string, latitude: number, longitude: number): Promise<PatrolJson> {
    return wire(this.service.registerPatrol(patrolId, name, latitude, longitude).then(patrolJson));
  }

  position(patrolId: string, latitude: number, longitude: number): Promise<PatrolJson> {
    return wire(this.service.position(patrolId, latitude, longitude).then(patrolJson));
  }

  acknowledge(incidentId: string, patrolId: string): Promise<IncidentJson> {
    return wire(this.service.acknowledge(incidentId, patrolId).then(incidentJson));
  }

  enRoute(incidentId: string, patrolId: string): Promise<IncidentJson> {
    return wire(this.service.enRoute(incidentId, patrolId).then(incidentJson));
  }

  arrive(incidentId: string, patrolId: string): Promise<IncidentJson> {
    return wire(this.service.arrive(incidentId, patrolId).then(incidentJson));
  }

  resolve(incidentId: string, patrolId: string, note: string): Promise<IncidentJson> {
    return wire(this.service.resolve(incidentId, patrolId, note).then(incidentJson));
  }

  openStream(patrolId: string, since: string | null, handlers: StreamHandlers): PatrolStream {
    let open = true;
    // Frames go out in order, after the caller has its handle, as from a socket.
    const send = (f: PatrolFrame) => queueMicrotask(() => open && handlers.onFrame(f));
    const held = new Set<string>();
    const view = this.service.view;
    const assignment = () => {
      const p = view.patrol(patrolId)?.value;
      if (!p) return;
      const inc = p.incidentId ? (view.incident(p.incidentId)?.value ?? null) : null;
      if (inc) held.add(inc.id);
      send({ type: "assignment", incident: inc ? incidentJson(inc) : null, patrol: patrolJson(p), cursor: String(view.cursor) });
    };
    if (!view.patrol(patrolId)) {
      queueMicrotask(() => open && handlers.onClose(`no patrol ${patrolId}`));
      return { close: () => void (open = false) };
    }
    // With a cursor, the current assignment comes first, then what was missed; without, the feed's snapshot makes it.
    if (since !== null) assignment();
    const sub = this.service.subscribe(since, (f) => {
      if (f.type === "snapshot") return assignment();
      for (const inc of f.incidents) {
        if (inc.patrolId !== patrolId && !held.has(inc.id)) continue;
        held.add(inc.id);
        send({ type: "incident", incident: incidentJson(inc), cursor: f.cursor });
      }
      for (const p of f.patrols) if (p.id === patrolId) send({ type: "patrol", patrol: patrolJson(p), cursor: f.cursor });
    });
    return {
      close() {
        open = false;
        sub.close();
      },
    };
  }
}

export function patrolJson(p: Patrol): PatrolJson {
  return { patrolId: p.id, name: p.name, status: p.status, latitude: p.latitude, longitude: p.longitude, positionAt: p.positionAt, incidentId: p.incidentId };
}

export function incidentJson(i: Incident): IncidentJson {
  return {
    incidentId: i.id, studentId: i.studentId, state: i.state, patrolId: i.patrolId, exerciseId: i.exerciseId, lowestScore: i.lowestScore, orderCount: i.orderCount,
    alertIds: i.orders.map((o) => o.alertId), latitude: i.latitude, longitude: i.longitude, region: i.region, place: "", times: i.times, note: i.note, revision: i.seq,
  };
}

/** The service's typed refusals as the API's answers would be. */
async function wire<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof DispatchConflictError) throw new DispatchRefusedError(409, e.message, e.state);
    if (e instanceof DispatchForbiddenError) throw new DispatchRefusedError(403, e.message);
    if (e instanceof DispatchNotFoundError) throw new DispatchRefusedError(404, e.message);
    if (e instanceof DispatchInputError) throw new DispatchRefusedError(400, e.message);
    if (e instanceof DispatchUnavailableError) throw new DispatchUnreachableError(e.message);
    throw e;
  }
}
