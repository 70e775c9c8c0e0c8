import type { IncidentJson, PatrolJson } from "../../modules/patrols/index.ts";
import type { IncidentEvent } from "../../src/domain/incident-event.ts";
import { TERMINAL_STATES } from "../../src/domain/incident-event.ts";
import type { Lake } from "../../src/ports/lake.ts";
import { TOKENS } from "./acu.ts";
import { readLakeFrom } from "./lake.ts";
import { recomputeResponseTimes } from "./recompute.ts";

const TIME_FIELDS = ["openedAt", "assignedAt", "acknowledgedAt", "enRouteAt", "onSiteAt", "resolvedAt", "cancelledAt"] as const;

/** A lake `incidents/` row back into the event it was written from (times regrouped, bus position dropped). */
export function eventOfLakeRow(row: Record<string, unknown>): IncidentEvent {
  const { partition: _p, offset: _o, ...rest } = row;
  const times = Object.fromEntries(TIME_FIELDS.map((k) => [k, rest[k] === null ? null : Number(rest[k])]));
  for (const k of TIME_FIELDS) delete rest[k];
  return { ...(rest as unknown as Omit<IncidentEvent, "times">), at: Number(rest.at), times: times as IncidentEvent["times"] };
}

/** Every incident event in a lake, as an auditor would read it; each file's rows with their file. */
export async function readIncidentEvents(lake: Lake): Promise<{ events: IncidentEvent[]; files: string[]; rows: Array<Record<string, unknown>> }> {
  const { rows, files } = await readLakeFrom(lake, "incidents");
  return { events: rows.map(eventOfLakeRow), files, rows };
}

/** Events kept once per eventId (a relay may publish one twice, readers keep the first), by id. */
export function byEventId(events: IncidentEvent[]): Map<string, IncidentEvent> {
  const m = new Map<string, IncidentEvent>();
  for (const e of events) if (!m.has(e.eventId)) m.set(e.eventId, e);
  return m;
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** Every incident the API lists (newest first, up to 1,000). */
export async function listIncidents(url: string, token: string = TOKENS.viewer): Promise<IncidentJson[]> {
  const res = await fetch(`${url}/api/incidents?limit=1000`, { headers: auth(token) });
  if (res.status !== 200) throw new Error(`GET /api/incidents: HTTP ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { incidents: IncidentJson[] }).incidents;
}

export async function listPatrols(url: string, token: string = TOKENS.viewer): Promise<PatrolJson[]> {
  const res = await fetch(`${url}/api/patrols`, { headers: auth(token) });
  if (res.status !== 200) throw new Error(`GET /api/patrols: HTTP ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { patrols: PatrolJson[] }).patrols;
}

export const isActive = (i: { state: string }) => !TERMINAL_STATES.includes(i.state as never);

/** What one listing of the active incidents must never show: a student with two, a patrol on two. */
export function listingProblems(incidents: IncidentJson[]): string[] {
  const problems: string[] = [];
  const students = new Map<string, string>();
  const patrols = new Map<string, string>();
  for (const i of incidents.filter(isActive)) {
    const s = students.get(i.studentId);
    if (s) problems.push(`student ${i.studentId} has two open incidents: ${s} and ${i.incidentId}`);
    students.set(i.studentId, i.incidentId);
    if (i.patrolId === null) continue;
    const p = patrols.get(i.patrolId);
    if (p) problems.push(`patrol ${i.patrolId} holds two incidents: ${p} and ${i.incidentId}`);
    patrols.set(i.patrolId, i.incidentId);
  }
  return problems;
}

/**
 * Samples `GET /api/incidents` on one or more processes while a run goes on: every listing must show at most
 * one active incident per student and per patrol. The history audit checks every instant; this checks
 * what operators are shown. With a StuckWatch, each sample (and the patrols beside it) is also watched for
 * incidents left behind.
 */
export class ListingSampler {
  readonly problems: string[] = [];
  samples = 0;
  errors = 0;
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly urls: () => string[],
    private readonly o: { everyMs?: number; stuck?: StuckWatch } = {},
  ) {}

  start(): this {
    this.loop = (async () => {
      while (!this.stopped) {
        for (const url of this.urls()) await this.sample(url);
        await Bun.sleep(this.o.everyMs ?? 500);
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async sample(url: string): Promise<void> {
    try {
      const [incidents, patrols] = await Promise.all([listIncidents(url), this.o.stuck ? listPatrols(url) : Promise.resolve([])]);
      this.problems.push(...listingProblems(incidents));
      this.o.stuck?.observe(Date.now(), incidents, patrols);
      this.samples++;
    } catch {
      // A process being killed or restarting: its listing is not a sample.
      this.errors++;
    }
  }
}

/**
 * Incidents left behind, from successive listings. An incident is stuck when it is
 * - `assigned` past its acknowledgement deadline (assignedAt + ackTimeout) + slack: nobody took it back;
 * - `open` for longer than ackTimeout (a patrol passed over on it may be skipped that long) + slack while
 *   every listing in that time showed a patrol available: nobody assigned it;
 * - in a patrol's hands (acknowledged, en route, on site) with no change for `progressMs`: a transition lost
 *   (the simulated crews take a few seconds per step).
 * Each stuck incident is reported once, with what it was doing.
 */
export class StuckWatch {
  readonly stuck = new Map<string, string>();
  private readonly openSince = new Map<string, number>();
  private readonly unchanged = new Map<string, { revision: number; since: number }>();
  private availableSince: number | null = null;

  constructor(private readonly o: { ackTimeoutMs: number; slackMs: number; progressMs: number }) {}

  observe(now: number, incidents: IncidentJson[], patrols: PatrolJson[]): void {
    this.availableSince = patrols.some((p) => p.status === "available" && p.incidentId === null) ? (this.availableSince ?? now) : null;
    const active = incidents.filter(isActive);
    const ids = new Set(active.map((i) => i.incidentId));
    for (const m of [this.openSince, this.unchanged]) for (const id of m.keys()) if (!ids.has(id)) m.delete(id);
    for (const i of active) {
      if (i.state === "open") this.openSince.set(i.incidentId, this.openSince.get(i.incidentId) ?? now);
      else this.openSince.delete(i.incidentId);
      const u = this.unchanged.get(i.incidentId);
      if (!u || u.revision !== i.revision) this.unchanged.set(i.incidentId, { revision: i.revision, since: now });
      const why = this.stuckWhy(now, i);
      if (why && !this.stuck.has(i.incidentId)) this.stuck.set(i.incidentId, `${i.incidentId} ${why}`);
    }
  }

  private stuckWhy(now: number, i: IncidentJson): string | null {
    const { ackTimeoutMs, slackMs, progressMs } = this.o;
    if (i.state === "assigned" && i.times.assignedAt !== null && now > i.times.assignedAt + ackTimeoutMs + slackMs)
      return `assigned to ${i.patrolId} ${now - i.times.assignedAt} ms ago, neither acknowledged nor taken back`;
    const open = this.openSince.get(i.incidentId);
    if (i.state === "open" && open !== undefined && this.availableSince !== null && now - Math.max(open, this.availableSince) > ackTimeoutMs + slackMs)
      return `open for ${now - open} ms while a patrol was available for ${now - this.availableSince} ms`;
    const u = this.unchanged.get(i.incidentId)!;
    if (i.state !== "open" && i.state !== "assigned" && now - u.since > progressMs) return `${i.state} with ${i.patrolId}, unchanged for ${now - u.since} ms`;
    return null;
  }
}

/** One row of `GET /api/analytics/response-times` as the contract has it. */
export interface ResponseTimeRow {
  region: string;
  step: "acknowledge" | "onSite" | "resolve";
  count: number;
  p50: number | null;
  p90: number | null;
}

/** The response-time rows a recomputation from these events gives (every region × step reached), sorted. */
export function expectedResponseRows(events: IncidentEvent[]): ResponseTimeRow[] {
  const flat = [...byEventId(events).values()].map((e) => ({ type: e.type, region: e.region, ...e.times }));
  return recomputeResponseTimes(flat)
    .flatMap((r) => (["acknowledge", "onSite", "resolve"] as const).filter((step) => r[step].count > 0).map((step) => ({ region: r.region, step, ...r[step] })))
    .sort(byRegionStep);
}

/** The API's answer as rows (flat rows as the contract says, or per region with a field per step), sorted. */
export function responseRows(body: { regions: Array<Record<string, unknown>> }): ResponseTimeRow[] {
  const rows = body.regions.flatMap((r) => {
    if (typeof r.step === "string") return [r as unknown as ResponseTimeRow];
    return (["acknowledge", "onSite", "resolve"] as const)
      .map((step) => ({ region: r.region as string, step, ...(r[step] as { count: number; p50: number | null; p90: number | null }) }))
      .filter((x) => x.count > 0);
  });
  return rows.map((r) => ({ region: r.region, step: r.step, count: r.count, p50: r.p50, p90: r.p90 })).sort(byRegionStep);
}

function byRegionStep(a: ResponseTimeRow, b: ResponseTimeRow): number {
  return a.region < b.region ? -1 : a.region > b.region ? 1 : a.step < b.step ? -1 : a.step > b.step ? 1 : 0;
}

/**
 * A report of a student who keeps failing (score under 10): the e2e sends each of a few such students
 * several times over the run, so later orders attach to the incident the first one opened (or open a new
 * one once it is resolved). Positions are points in mainland France.
 */
export function strugglingReport(run: string, student: number, round: number, timestamp: number) {
  return {
    studentId: `${run}-struggling-${student}`,
    exerciseId: "bsq",
    score: (student * 3 + round) % 10,
    latitude: 44 + (student % 9) * 0.6,
    longitude: -0.5 + (student % 7) * 0.9,
    timestamp,
  };
}
