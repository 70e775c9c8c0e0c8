/**
 * Patrols on the dashboard's map: a marker per patrol on duty, coloured by status, with a line to the
 * incident it holds; incidents waiting for a patrol as hollow diamonds. Drawn above the hotspots.
 */
import { PATROL_STATUSES, type Incident, type Patrol, type PatrolStatus } from "./dispatch-api.ts";
import { clear, h, svg } from "./dom.ts";
import { t, type Key } from "./i18n.ts";

export interface Projecting {
  project(lat: number, lon: number): [number, number] | null;
  addLayer(className: string): SVGGElement;
}

const fixed = (xy: [number, number]) => ({ x: xy[0].toFixed(1), y: xy[1].toFixed(1) });

export class PatrolLayer {
  private readonly lines: SVGGElement;
  private readonly waiting: SVGGElement;
  private readonly markers: SVGGElement;

  constructor(
    private readonly map: Projecting,
    private readonly legend: HTMLElement,
  ) {
    // Lines under the markers, so a marker is never hidden by a line.
    this.lines = map.addLayer("assignment-lines");
    this.waiting = map.addLayer("waiting-incidents");
    this.markers = map.addLayer("patrol-markers");
  }

  render(patrols: Iterable<Patrol>, incidents: Map<string, Incident>, on: boolean): void {
    for (const g of [this.lines, this.waiting, this.markers]) clear(g);
    for (const inc of incidents.values()) if (inc.state === "open") this.drawWaiting(inc);
    for (const p of patrols) if (p.status !== "off-duty") this.drawPatrol(p, p.incidentId ? incidents.get(p.incidentId) : undefined);
    this.renderLegend(on);
  }

  private drawWaiting(inc: Incident): void {
    const xy = this.map.project(inc.latitude, inc.longitude);
    if (!xy) return;
    const { x, y } = fixed(xy);
    this.waiting.append(
      svg(
        "path",
        { class: "waiting", d: `M${x} ${Number(y) - 6}l6 6l-6 6l-6 -6z`, "data-incident": inc.incidentId },
        svg("title", {}, `${inc.studentId} · ${t("incNoPatrol")}`),
      ),
    );
  }

  private drawPatrol(p: Patrol, inc: Incident | undefined): void {
    const xy = this.map.project(p.latitude, p.longitude);
    if (!xy) return;
    const at = fixed(xy);
    const to = inc ? this.map.project(inc.latitude, inc.longitude) : null;
    if (inc && to) {
      const end = fixed(to);
      this.lines.append(
        svg("line", { class: `assignment ${p.status}`, x1: at.x, y1: at.y, x2: end.x, y2: end.y, "data-patrol": p.patrolId, "data-incident": inc.incidentId }),
        svg("circle", { class: `target ${p.status}`, cx: end.x, cy: end.y, r: 4 }),
      );
    }
    const label = [`${p.patrolId} · ${p.name}`, t(`status_${p.status}` as Key), inc ? inc.studentId : ""].filter(Boolean).join(" · ");
    this.markers.append(
      svg("circle", { class: `patrol ${p.status}`, cx: at.x, cy: at.y, r: 5.5, "data-patrol": p.patrolId, "data-status": p.status }, svg("title", {}, label)),
    );
  }

  private renderLegend(on: boolean): void {
    clear(this.legend);
    if (!on) return;
    const statuses = PATROL_STATUSES.filter((s): s is Exclude<PatrolStatus, "off-duty"> => s !== "off-duty");
    this.legend.append(
      h("div", { class: "legend-title" }, t("legendPatrols")),
      ...statuses.map((s) => h("div", { class: "legend-item" }, h("span", { class: `swatch patrol ${s}` }), t(`status_${s}` as Key))),
      h("div", { class: "legend-item" }, h("span", { class: "swatch waiting" }), t("legendWaiting")),
    );
  }
}
