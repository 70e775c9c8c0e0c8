import {
  DispatchConflictError,
  DispatchForbiddenError,
  DispatchInputError,
  DispatchNotFoundError,
  DispatchUnavailableError,
} from "../../src/domain/dispatch-errors.ts";
import type { DispatchService } from "../dispatch/index.ts";
import { incidentJson, patrolJson } from "../http/dispatch-schemas.ts";
import { PatrolSession } from "../http/dispatch-streams.ts";
import {
  DispatchRefusedError,
  DispatchUnreachableError,
  type DispatchClient,
  type IncidentJson,
  type PatrolJson,
  type PatrolStream,
  type StreamHandlers,
} from "./client.ts";
import { parsePatrolFrame } from "./http-client.ts";

/**
 * The dispatch client without the network: the dispatch service itself (the real one, on a real store),
 * each call as a patrol's token would make it, refusals as the API's statuses, answers in the API's JSON,
 * and the patrol's stream made by the http role's own session on the service's feed. For tests of the
 * simulator in one process.
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
    const patrol = this.service.view.patrol(patrolId)?.value;
    if (!patrol) {
      queueMicrotask(() => open && handlers.onClose(`no patrol ${patrolId}`));
      return { close: () => void (open = false) };
    }
    // The http role's own session; its frames through JSON and the contract's schema, delivered in order
    // once the caller has its handle, as from a socket.
    const session = new PatrolSession(this.service, patrol, since);
    session.open({
      send: (frame) => {
        const text = JSON.stringify(frame);
        queueMicrotask(() => {
          if (!open) return;
          const f = parsePatrolFrame(text);
          if (!f) throw new Error(`the patrol stream sent a frame outside the contract: ${text.slice(0, 300)}`);
          handlers.onFrame(f);
        });
        return true;
      },
    });
    return {
      close() {
        open = false;
        session.close();
      },
    };
  }
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
