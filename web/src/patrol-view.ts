/**
 * What the patrol's page knows, folded from its stream's frames and its own calls' answers: the patrol, the
 * incident it holds now, and the ones it held. Pure (no DOM), so the rules are unit-tested: a version older
 * than one already seen is ignored (a reconnection replays frames after the current assignment), and each
 * new assignment is announced once.
 */
import { isTerminal, newer, type Incident, type Patrol, type PatrolFrame } from "./dispatch-model.ts";

/** `gone`: it no longer holds it, and no frame has said why yet. */
export type EndedWhy = "resolved" | "cancelled" | "taken" | "gone";

export interface Ended {
  incident: Incident;
  why: EndedWhy;
}

/** What a frame changed, for the page to show. */
export type Change = { kind: "assigned"; incident: Incident } | { kind: "updated" } | { kind: "ended"; ended: Ended };

const KEEP_ENDED = 5;

export class PatrolView {
  patrol: Patrol | null = null;
  /** The incident this patrol holds now (assigned … on site), or null. */
  current: Incident | null = null;
  /** The last incidents it no longer holds, newest first. */
  readonly ended: Ended[] = [];
  /** Every new assignment announced (sound, vibration), in order: `incidentId@assignedAt`. */
  readonly announced: string[] = [];
  private readonly known = new Map<string, Incident>();

  constructor(readonly patrolId: string) {}

  apply(frame: PatrolFrame): Change[] {
    if (frame.type === "patrol") {
      this.patrol = frame.patrol;
      return [{ kind: "updated" }];
    }
    if (frame.type === "incident") return this.incident(frame.incident);
    if (frame.type === "assignment") {
      this.patrol = frame.patrol;
      if (frame.incident && this.holds(frame.incident)) return this.incident(frame.incident, true);
      const changes: Change[] = frame.incident ? this.incident(frame.incident) : [];
      // It holds nothing now: whatever it still held here ended while the page was away.
      const was = this.current;
      if (was) changes.push(this.end(was, this.known.get(was.incidentId) ?? was));
      return changes.length ? changes : [{ kind: "updated" }];
    }
    return [];
  }

  /**
   * Folds one version of an incident (a frame, or the answer to this page's own transition). `snapshot`: it
   * comes from an assignment frame, the server's word on what the patrol holds now.
   */
  incident(next: Incident, snapshot = false): Change[] {
    if (!newer(this.known.get(next.incidentId), next)) return [];
    this.known.set(next.incidentId, next);
    if (this.known.size > 200) this.known.delete(this.known.keys().next().value!);
    if (this.holds(next)) return this.held(next, snapshot);
    if (this.current?.incidentId === next.incidentId) return [this.end(this.current, next)];
    // An incident it held before: its entry says how it ended, with the latest version.
    const i = this.ended.findIndex((e) => e.incident.incidentId === next.incidentId);
    if (i >= 0) this.ended[i] = { incident: next, why: why(next, this.patrolId) };
    return [{ kind: "updated" }];
  }

  /** A version that names this patrol as the holder. */
  private held(next: Incident, snapshot: boolean): Change[] {
    const cur = this.current;
    if (cur?.incidentId === next.incidentId) {
      this.current = next;
      return [{ kind: "updated" }];
    }
    // A patrol holds one incident: a held version of another one is a newer assignment, or a replayed
    // frame of the past (a reconnection replays after the current assignment), which changes nothing.
    const before = this.ended.find((e) => e.incident.incidentId === next.incidentId);
    if (!snapshot && ((before && since(next) <= since(before.incident)) || (cur && since(next) <= since(cur)))) return [];
    const changes: Change[] = cur ? [this.end(cur, this.known.get(cur.incidentId) ?? cur)] : [];
    this.current = next;
    const i = this.ended.findIndex((e) => e.incident.incidentId === next.incidentId);
    if (i >= 0) this.ended.splice(i, 1);
    const key = `${next.incidentId}@${since(next)}`;
    if (next.state === "assigned" && !this.announced.includes(key)) {
      this.announced.push(key);
      changes.push({ kind: "assigned", incident: next });
    } else changes.push({ kind: "updated" });
    return changes;
  }

  private holds(inc: Incident): boolean {
    return inc.patrolId === this.patrolId && inc.state !== "open" && !isTerminal(inc.state);
  }

  private end(was: Incident, latest: Incident): Change {
    if (this.current?.incidentId === was.incidentId) this.current = null;
    const ended = { incident: latest, why: why(latest, this.patrolId) };
    const i = this.ended.findIndex((e) => e.incident.incidentId === was.incidentId);
    if (i >= 0) this.ended.splice(i, 1);
    this.ended.unshift(ended);
    this.ended.length = Math.min(this.ended.length, KEEP_ENDED);
    return { kind: "ended", ended };
  }
}

const since = (i: Incident) => i.times.assignedAt ?? 0;

function why(inc: Incident, patrolId: string): EndedWhy {
  if (inc.state === "resolved") return "resolved";
  if (inc.state === "cancelled") return "cancelled";
  return inc.patrolId === patrolId ? "gone" : "taken";
}
