/** The dispatch API as the pages use it: patrols, incidents, their streams, response times (docs/api.md). */
import { call, q } from "./api.ts";
import type { Incident, IncidentState, Patrol, PatrolAction, ResponseTime } from "./dispatch-model.ts";

export * from "./dispatch-model.ts";

const incidentPath = (id: string, what: string) => `/api/incidents/${encodeURIComponent(id)}/${what}`;
const patrolPath = (id: string) => `/api/patrols/${encodeURIComponent(id)}`;

export const dispatchApi = {
  incidents: (limit: number, state?: IncidentState) => call<{ incidents: Incident[] }>("GET", `/api/incidents${q({ state, limit })}`),
  patrols: () => call<{ patrols: Patrol[] }>("GET", "/api/patrols"),
  responseTimes: () => call<{ regions: ResponseTime[] }>("GET", "/api/analytics/response-times"),
  act: (token: string, incidentId: string, action: PatrolAction, note?: string) =>
    call<Incident>("POST", incidentPath(incidentId, action), { token, body: action === "resolve" ? { note: note ?? "" } : undefined }),
  reassign: (token: string, incidentId: string, patrolId: string | null) =>
    call<Incident>("POST", incidentPath(incidentId, "reassign"), { token, body: patrolId ? { patrolId } : {} }),
  cancel: (token: string, incidentId: string, note: string) =>
    call<Incident>("POST", incidentPath(incidentId, "cancel"), { token, body: note ? { note } : {} }),
  position: (token: string, patrolId: string, latitude: number, longitude: number) =>
    call<Patrol>("POST", `${patrolPath(patrolId)}/position`, { token, body: { latitude, longitude } }),
  patrolStreamPath: (patrolId: string) => `${patrolPath(patrolId)}/stream`,
};
