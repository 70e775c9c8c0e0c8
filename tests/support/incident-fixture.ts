import { incidentEventId, type IncidentEvent, type IncidentEventType, type IncidentState, type IncidentTimes } from "../../src/domain/incident-event.ts";
import { REGIONS, UNKNOWN_REGION } from "../../src/domain/regions.ts";
import { rng } from "./lake-fixture.ts";

/** Where an incident's history ends. */
type Ending = "resolved" | "cancelled-open" | "cancelled-assigned" | "cancelled-acknowledged" | "cancelled-on-site" | "still-open" | "still-en-route";
const ENDINGS: Ending[] = [
  "resolved",
  "resolved",
  "resolved",
  "resolved",
  "cancelled-open",
  "cancelled-assigned",
  "cancelled-acknowledged",
  "cancelled-on-site",
  "still-open",
  "still-en-route",
];

/**
 * Seeded histories of `n` incidents, as the dispatch role publishes them: every transition one event with
 * the times so far, seq 1… per incident. Some time out and go to another patrol, some are cancelled at
 * each step, some are still going; delays in ms (so whole seconds are floored), a few under a second.
 * Events of different incidents interleave by time, as on the bus.
 */
export function incidentHistories(n: number, seed: number, regions: readonly string[] = [...REGIONS.slice(0, 5), UNKNOWN_REGION]): IncidentEvent[] {
  const r = rng(seed);
  const all: IncidentEvent[] = [];
  const base = Date.UTC(2026, 10, 27, 8);
  const delay = () => (r() < 0.1 ? Math.floor(r() * 1000) : Math.floor(r() * 600_000));
  for (let i = 0; i < n; i++) {
    const id = `inc-alert-r${seed}-${i}`;
    const ending = ENDINGS[Math.floor(r() * ENDINGS.length)]!;
    const times: IncidentTimes = {
      openedAt: base + Math.floor(r() * 3_600_000),
      assignedAt: null,
      acknowledgedAt: null,
      enRouteAt: null,
      onSiteAt: null,
      resolvedAt: null,
      cancelledAt: null,
    };
    let at = times.openedAt;
    let seq = 0;
    let patrolId: string | null = null;
    const region = regions[Math.floor(r() * regions.length)]!;
    const emit = (type: IncidentEventType, state: IncidentState, changes: Partial<IncidentTimes> = {}, note = "") => {
      Object.assign(times, changes);
      seq++;
      all.push({
        eventId: incidentEventId(id, seq),
        incidentId: id,
        seq,
        type,
        state,
        at,
        studentId: `s${seed}-${i}`,
        patrolId,
        alertId: `alert-r${seed}-${i}`,
        exerciseId: `ex${i % 4}`,
        lowestScore: Math.round(r() * 5000) / 100,
        orders: 1 + (seq > 2 ? 1 : 0),
        region,
        latitude: 43 + r() * 6,
        longitude: -2 + r() * 9,
        times: { ...times },
        note,
        actor: type === "timed-out" ? "timeout" : "dispatch",
      });
    };
    const step = () => (at += delay());
    emit("opened", "open");
    if (r() < 0.2) emit("order-attached", "open", {}, "");
    if (ending === "cancelled-open") {
      step();
      emit("cancelled", "cancelled", { cancelledAt: at }, "a duplicate");
      continue;
    }
    patrolId = `p-${Math.floor(r() * 20)}`;
    step();
    emit("assigned", "assigned", { assignedAt: at });
    if (r() < 0.15) {
      // Not acknowledged in time: back to open, then the next nearest patrol.
      step();
      patrolId = null;
      emit("timed-out", "open", {}, "no acknowledgement");
      patrolId = `p-${20 + Math.floor(r() * 20)}`;
      step();
      emit("assigned", "assigned", { assignedAt: at });
    }
    if (ending === "still-open") continue;
    if (ending === "cancelled-assigned") {
      step();
      patrolId = null;
      emit("cancelled", "cancelled", { cancelledAt: at });
      continue;
    }
    step();
    emit("acknowledged", "acknowledged", { acknowledgedAt: at });
    if (ending === "cancelled-acknowledged") {
      step();
      patrolId = null;
      emit("cancelled", "cancelled", { cancelledAt: at });
      continue;
    }
    step();
    emit("en-route", "en-route", { enRouteAt: at });
    if (ending === "still-en-route") continue;
    step();
    emit("on-site", "on-site", { onSiteAt: at });
    step();
    if (ending === "cancelled-on-site") {
      patrolId = null;
      emit("cancelled", "cancelled", { cancelledAt: at }, "student gone");
      continue;
    }
    emit("resolved", "resolved", { resolvedAt: at }, "helped");
  }
  return all.sort((a, b) => a.at - b.at || a.seq - b.seq);
}
