import type { Table, Vector } from "apache-arrow";
import type { IncidentTimes } from "../../domain/incident-event.ts";
import { countedResponses, isOutcome, type IncidentOutcome, type ResponseStep } from "../../domain/response-times.ts";
import type { IncidentCounts } from "../../ports/analytics-engine.ts";
import type { SqlRunner } from "../../ports/warehouse.ts";

const TIME_COLUMNS = ["openedAt", "acknowledgedAt", "onSiteAt", "resolvedAt"] as const;

/**
 * In-memory aggregates of incident event rows: finished incidents per region and outcome, and the
 * histogram of response seconds per region and step, from the terminal events only. Incident files are
 * small next to report files (a few events per failing student), so rows are read through Arrow's accessors.
 */
export class IncidentAggregator {
  /** Rows left out: a null type, region or opening time (the sink never writes such rows). */
  skipped = 0;
  private readonly totals = new Map<string, { region: string; outcome: IncidentOutcome; incidents: number }>();
  private readonly histogram = new Map<string, { region: string; step: ResponseStep; seconds: number; incidents: number }>();
  private readonly counts: IncidentCounts = { incidents: 0, responses: 0 };

  get counted(): IncidentCounts {
    return { ...this.counts };
  }

  addTable(table: Table, source = "table"): void {
    const col = (name: string): Vector => {
      const c = table.getChild(name);
      if (!c) throw new Error(`${source}: column ${name} is missing`);
      return c;
    };
    const type = col("type");
    const region = col("region");
    const times = TIME_COLUMNS.map(col);
    for (let i = 0; i < table.numRows; i++) {
      const t = type.get(i) as string | null;
      const r = region.get(i) as string | null;
      const opened = times[0]!.get(i);
      if (t === null || r === null || opened === null) {
        this.skipped++;
        continue;
      }
      if (!isOutcome(t)) continue;
      const at = (k: number) => timeAt(times[k]!, i);
      this.add(r, t, {
        openedAt: Number(opened),
        assignedAt: null,
        acknowledgedAt: at(1),
        enRouteAt: null,
        onSiteAt: at(2),
        resolvedAt: at(3),
        cancelledAt: null,
      });
    }
  }

  private add(region: string, outcome: IncidentOutcome, times: IncidentTimes): void {
    const tk = `${region}\u0000${outcome}`;
    const total = this.totals.get(tk) ?? { region, outcome, incidents: 0 };
    total.incidents++;
    this.totals.set(tk, total);
    this.counts.incidents++;
    for (const [step, seconds] of countedResponses({ type: outcome, times })) {
      const hk = `${region}\u0000${step}\u0000${seconds}`;
      const h = this.histogram.get(hk) ?? { region, step, seconds, incidents: 0 };
      h.incidents++;
      this.histogram.set(hk, h);
      this.counts.responses++;
    }
  }

  /** Appends the aggregates to the partial tables, tagged with the run id. */
  async writePartials(tx: SqlRunner, runId: string): Promise<void> {
    const totals = [...this.totals.values()];
    if (totals.length > 0)
      await tx.query(
        `INSERT INTO partial_incident_totals (run_id, region, outcome, incidents)
         SELECT $1, u.region, u.outcome, u.incidents FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(region, outcome, incidents)`,
        [runId, totals.map((t) => t.region), totals.map((t) => t.outcome), totals.map((t) => t.incidents)],
      );
    const h = [...this.histogram.values()];
    if (h.length > 0)
      await tx.query(
        `INSERT INTO partial_response_histogram (run_id, region, step, seconds, incidents)
         SELECT $1, u.region, u.step, u.seconds, u.incidents
         FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS u(region, step, seconds, incidents)`,
        [runId, h.map((x) => x.region), h.map((x) => x.step), h.map((x) => x.seconds), h.map((x) => x.incidents)],
      );
  }
}

/** Epoch ms of a timestamp cell, null when the step was not reached. */
function timeAt(v: Vector, i: number): number | null {
  const x = v.get(i) as number | bigint | null;
  return x === null ? null : Number(x);
}
