/**
 * The map of metropolitan France: regions shaded by a figure, failure hotspots as circles, live deployment
 * orders blinking where they are raised. Geometry: web/geo/france.topo.json (Natural Earth, lon/lat), drawn
 * with d3-geo's conformal conic projection (the one IGN uses for France), which also places every report.
 */
import { geoPath, type GeoPath, type GeoPermissibleObjects } from "d3-geo";
import { CITIES } from "../../src/domain/regions.ts";
import type { Hotspots, RegionStat } from "./api.ts";
import { HOTSPOT_STOPS, REGION_STOPS, gradient, ramp } from "./colors.ts";
import { clear, h, svg } from "./dom.ts";
import { countryBorders, franceProjection, innerBorders, neighbourFeatures, placeName, regionFeatures } from "./geo.ts";
import { fmtInt, fmtNum, fmtPct, t, type Key } from "./i18n.ts";

export { nearestCity, placeName } from "./geo.ts";

export type Shading = "averageScore" | "failures" | "failureRate";
export const SHADINGS: { value: Shading; label: Key }[] = [
  { value: "averageScore", label: "shadeAverage" },
  { value: "failures", label: "shadeFailures" },
  { value: "failureRate", label: "shadeRate" },
];

const W = 600;
const H = 570;
const MAX_PULSES = 80;
const LABELLED_CITIES = [
  "Paris",
  "Lyon",
  "Marseille",
  "Toulouse",
  "Bordeaux",
  "Lille",
  "Nantes",
  "Strasbourg",
  "Rennes",
  "Montpellier",
  "Nice",
  "Dijon",
  "Clermont-Ferrand",
  "Rouen",
  "Orléans",
  "Ajaccio",
];

export const REGION_NAMES = regionFeatures.map((f) => f.properties.name);

/** The figure a region is shaded by, and whether a higher value is worse. */
export function regionValue(r: RegionStat | undefined, shading: Shading): number | null {
  if (!r || r.reports === 0) return null;
  if (shading === "averageScore") return r.averageScore;
  if (shading === "failures") return r.failures;
  return r.failures / r.reports;
}
const higherIsWorse = (s: Shading) => s !== "averageScore";

export function formatRegionValue(v: number, shading: Shading): string {
  return shading === "averageScore" ? fmtNum(v) : shading === "failures" ? fmtInt(v) : fmtPct(v);
}

export class FranceMap {
  readonly element: SVGSVGElement;
  private readonly projection = franceProjection();
  private readonly path: GeoPath;
  private readonly regionPaths = new Map<string, SVGPathElement>();
  private readonly hotspotLayer: SVGGElement;
  private readonly pulseLayer: SVGGElement;
  private hotspotCircles: SVGCircleElement[] = [];
  private regions = new Map<string, RegionStat>();
  private shading: Shading = "averageScore";
  private hotspots: Hotspots | null = null;
  /** A region clicked, or Enter or Space on it (the trend chart shows it). */
  onRegionPick: ((region: string) => void) | null = null;

  constructor(
    private readonly wrap: HTMLElement,
    private readonly tip: HTMLElement,
    private readonly legend: HTMLElement,
  ) {
    this.projection.fitExtent(
      [
        [12, 12],
        [W - 12, H - 12],
      ],
      { type: "FeatureCollection", features: regionFeatures } as GeoPermissibleObjects,
    );
    this.path = geoPath(this.projection);
    const d = (o: GeoPermissibleObjects) => this.path(o) ?? "";

    this.element = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "map", role: "group", "aria-roledescription": "map", preserveAspectRatio: "xMidYMid meet" });
    const title = svg("title", { id: "map-svg-title" });
    this.element.append(title, svg("rect", { class: "sea", width: W, height: H }));
    const land = svg("g", { class: "land", "aria-hidden": "true" });
    for (const f of neighbourFeatures) land.append(svg("path", { d: d(f) }));
    land.append(svg("path", { class: "country-border", d: d(countryBorders) }));
    this.element.append(land);

    const regionLayer = svg("g", { class: "regions" });
    for (const f of regionFeatures) {
      const p = svg("path", { d: d(f), class: "region", tabindex: 0, "data-region": f.properties.name });
      p.addEventListener("mouseenter", (ev) => this.showRegionTip(f.properties.name, ev));
      p.addEventListener("mousemove", (ev) => this.moveTip(ev));
      p.addEventListener("mouseleave", () => this.hideTip());
      p.addEventListener("focus", () => this.showRegionTip(f.properties.name, null));
      p.addEventListener("blur", () => this.hideTip());
      p.addEventListener("click", () => this.onRegionPick?.(f.properties.name));
      p.addEventListener("keydown", (ev) => {
        if (ev.key !== "Enter" && ev.key !== " ") return;
        ev.preventDefault();
        this.onRegionPick?.(f.properties.name);
      });
      this.regionPaths.set(f.properties.name, p);
      regionLayer.append(p);
    }
    this.element.append(regionLayer, svg("path", { class: "region-border", d: d(innerBorders), "aria-hidden": "true" }));

    const cities = svg("g", { class: "cities", "aria-hidden": "true" });
    for (const name of LABELLED_CITIES) {
      const c = CITIES.find((x) => x.name === name);
      const xy = c && this.projection([c.longitude, c.latitude]);
      if (!xy) continue;
      cities.append(
        svg("circle", { cx: xy[0].toFixed(1), cy: xy[1].toFixed(1), r: 1.8 }),
        svg("text", { x: (xy[0] + 4).toFixed(1), y: (xy[1] + 3).toFixed(1) }, name),
      );
    }
    this.hotspotLayer = svg("g", { class: "hotspots" });
    this.pulseLayer = svg("g", { class: "pulses", "aria-hidden": "true" });
    this.element.append(cities, this.hotspotLayer, this.pulseLayer);
    this.wrap.prepend(this.element);
  }

  /** Screen position (in the wrap) of a point in the SVG's coordinates. */
  private toWrap(x: number, y: number): [number, number] {
    const r = this.element.getBoundingClientRect();
    const w = this.wrap.getBoundingClientRect();
    const s = Math.min(r.width / W, r.height / H);
    const ox = r.left - w.left + (r.width - W * s) / 2;
    const oy = r.top - w.top + (r.height - H * s) / 2;
    return [ox + x * s, oy + y * s];
  }

  /** A layer of the caller's own (e.g. the patrols), above the hotspots and below the live pulses. */
  addLayer(className: string): SVGGElement {
    const g = svg("g", { class: className });
    this.element.insertBefore(g, this.pulseLayer);
    return g;
  }

  project(lat: number, lon: number): [number, number] | null {
    const p = this.projection([lon, lat]);
    return p && p[0] >= 0 && p[0] <= W && p[1] >= 0 && p[1] <= H ? [p[0], p[1]] : null;
  }

  setRegions(stats: RegionStat[], shading: Shading): void {
    this.regions = new Map(stats.map((r) => [r.region, r]));
    this.shading = shading;
    const values = REGION_NAMES.map((n) => regionValue(this.regions.get(n), shading)).filter((v): v is number => v !== null);
    const lo = Math.min(...values),
      hi = Math.max(...values);
    for (const [name, p] of this.regionPaths) {
      const v = regionValue(this.regions.get(name), shading);
      let fill = "";
      if (v !== null) {
        const f = hi > lo ? (v - lo) / (hi - lo) : 0.5;
        fill = ramp(REGION_STOPS, higherIsWorse(shading) ? f : 1 - f);
      }
      p.style.fill = fill;
      p.classList.toggle("no-data", v === null);
      p.setAttribute("aria-label", this.regionText(name).join(", "));
      if (v !== null) p.dataset.value = String(v);
      else delete p.dataset.value;
    }
    this.renderLegend(values.length ? lo : null, values.length ? hi : null);
  }

  setHotspots(hs: Hotspots | null): void {
    this.hotspots = hs;
    clear(this.hotspotLayer);
    this.hotspotCircles = [];
    if (!hs) {
      this.renderLegend();
      return;
    }
    const max = Math.max(1, ...hs.cells.map((c) => c.failures));
    // Biggest first so small circles stay on top and can be pointed at.
    const order = hs.cells.map((c, i) => ({ c, i })).sort((a, b) => b.c.failures - a.c.failures);
    const circles: SVGCircleElement[] = new Array(hs.cells.length);
    for (const { c, i } of order) {
      const xy = this.project(c.latitude, c.longitude);
      const el = svg("circle", {
        class: "hotspot",
        cx: xy ? xy[0].toFixed(1) : -100,
        cy: xy ? xy[1].toFixed(1) : -100,
        r: (3 + 19 * Math.sqrt(c.failures / max)).toFixed(1),
        fill: ramp(HOTSPOT_STOPS, c.reports ? c.failures / c.reports : 0),
        "data-lat": c.latitude,
        "data-lon": c.longitude,
        "data-failures": c.failures,
        "data-reports": c.reports,
      });
      el.addEventListener("mouseenter", (ev) => this.showHotspotTip(i, ev));
      el.addEventListener("mousemove", (ev) => this.moveTip(ev));
      el.addEventListener("mouseleave", () => this.highlight(null));
      circles[i] = el;
      this.hotspotLayer.append(el);
    }
    this.hotspotCircles = circles;
    this.renderLegend();
  }

  /** Marks one hotspot (from the list beside the map) and shows its tooltip; null clears. */
  highlight(i: number | null): void {
    this.hotspotCircles.forEach((c, k) => {
      c?.classList.toggle("active", k === i);
    });
    if (i === null) {
      this.hideTip();
      return;
    }
    this.showHotspotTip(i, null);
  }

  /** The colour a region is drawn with now ("" when it has no figure). */
  fillOf(name: string): string {
    return this.regionPaths.get(name)?.style.fill ?? "";
  }

  /** Marks the region the trend chart shows; null: none. */
  pickRegion(name: string | null): void {
    for (const [n, p] of this.regionPaths) {
      p.classList.toggle("picked", n === name);
      if (n === name) p.setAttribute("aria-current", "true");
      else p.removeAttribute("aria-current");
    }
  }

  /** Outlines one region (hovered in the ranking); null clears. */
  highlightRegion(name: string | null): void {
    for (const [n, p] of this.regionPaths) p.classList.toggle("hover", n === name);
  }

  /** A deployment order just raised: a ring blinks where it was raised. */
  pulse(lat: number, lon: number, selected: boolean): void {
    const xy = this.project(lat, lon);
    if (!xy) return;
    while (this.pulseLayer.childElementCount >= MAX_PULSES) this.pulseLayer.firstElementChild?.remove();
    const g = svg("g", { class: selected ? "pulse selected" : "pulse", transform: `translate(${xy[0].toFixed(1)} ${xy[1].toFixed(1)})` });
    g.append(svg("circle", { class: "ring", r: 4 }), svg("circle", { class: "dot", r: 2.6 }));
    g.addEventListener("animationend", () => g.remove(), { once: true });
    // Fallback when animations are reduced or off.
    setTimeout(() => g.remove(), 4000);
    this.pulseLayer.append(g);
  }

  setLabel(text: string): void {
    this.element.setAttribute("aria-label", text);
    const title = this.element.querySelector("title");
    if (title) title.textContent = text;
  }

  private regionText(name: string): string[] {
    const r = this.regions.get(name);
    if (!r || r.reports === 0) return [name, t("tipNoData")];
    return [
      name,
      t("tipReports", { n: fmtInt(r.reports) }),
      t("tipAverage", { v: fmtNum(r.averageScore) }),
      t("tipFailures", { n: fmtInt(r.failures), rate: fmtPct(r.failures / r.reports) }),
    ];
  }

  private showRegionTip(name: string, ev: MouseEvent | null): void {
    const [head, ...rest] = this.regionText(name);
    this.fillTip(head!, rest);
    if (ev) this.moveTip(ev);
    else {
      const f = regionFeatures.find((x) => x.properties.name === name);
      const [x, y] = f ? this.path.centroid(f) : [W / 2, H / 2];
      this.placeTip(...this.toWrap(x, y));
    }
  }

  private showHotspotTip(i: number, ev: MouseEvent | null): void {
    const c = this.hotspots?.cells[i];
    const el = this.hotspotCircles[i];
    if (!c || !el) return;
    this.fillTip(placeName(c.latitude, c.longitude), [
      t("hotspotLine", { failures: fmtInt(c.failures), reports: fmtInt(c.reports), rate: fmtPct(c.reports ? c.failures / c.reports : 0) }),
      t("cell", { lat: c.latitude.toFixed(2), lon: c.longitude.toFixed(2) }),
    ]);
    if (ev) this.moveTip(ev);
    else this.placeTip(...this.toWrap(Number(el.getAttribute("cx")), Number(el.getAttribute("cy"))));
  }

  private fillTip(head: string, lines: string[]): void {
    clear(this.tip);
    this.tip.append(h("strong", {}, head), ...lines.map((l) => h("span", {}, l)));
    this.tip.hidden = false;
  }

  private moveTip(ev: MouseEvent): void {
    const w = this.wrap.getBoundingClientRect();
    this.placeTip(ev.clientX - w.left, ev.clientY - w.top);
  }

  private placeTip(x: number, y: number): void {
    const w = this.wrap.clientWidth;
    const tw = this.tip.offsetWidth;
    this.tip.style.left = `${Math.max(4, Math.min(w - tw - 4, x + 14))}px`;
    this.tip.style.top = `${Math.max(4, y + 14)}px`;
  }

  private hideTip(): void {
    this.tip.hidden = true;
  }

  private lastRange: [number | null, number | null] = [null, null];
  private renderLegend(lo: number | null = this.lastRange[0], hi: number | null = this.lastRange[1]): void {
    this.lastRange = [lo, hi];
    clear(this.legend);
    const worse = higherIsWorse(this.shading);
    const stops = worse ? REGION_STOPS : [...REGION_STOPS].reverse();
    const label = t(SHADINGS.find((s) => s.value === this.shading)!.label);
    this.legend.append(
      h(
        "div",
        { class: "legend-scale" },
        h("span", { class: "legend-title" }, label),
        h("span", { class: "bar", style: `background: ${gradient(stops)}` }),
        h(
          "span",
          { class: "ends" },
          h("span", {}, lo === null ? "–" : formatRegionValue(lo, this.shading)),
          h("span", {}, hi === null ? "–" : formatRegionValue(hi, this.shading)),
        ),
      ),
    );
    if (this.hotspots?.cells.length) {
      const max = Math.max(...this.hotspots.cells.map((c) => c.failures));
      this.legend.append(h("div", { class: "legend-item" }, h("span", { class: "swatch circle" }), t("legendHotspots", { max: fmtInt(max) })));
    }
    this.legend.append(h("div", { class: "legend-item" }, h("span", { class: "swatch live" }), t("legendLive")));
  }
}
