/**
 * The patrol page's small map: the student's place and the patrol's position, framed together, over the
 * regions and the catalogue's cities (same geometry and projection as the dashboard's map).
 */
import { geoPath, type GeoPermissibleObjects } from "d3-geo";
import { CITIES } from "../../src/domain/regions.ts";
import { clear, svg } from "./dom.ts";
import { countryBorders, franceProjection, innerBorders, neighbourFeatures, regionFeatures } from "./geo.ts";

const W = 360;
const H = 220;
const PAD = 22;
/** Degrees around the points at least (≈ 9 km): two points a few metres apart still show the towns around. */
const MIN_SPAN = 0.08;
const CITY_LABELS = 6;
/** A city this close to a marker (pixels) has its name raised above the marker. */
const CLEAR_PX = 16;

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Point {
  latitude: number;
  longitude: number;
}

export class MiniMap {
  readonly element: SVGSVGElement;

  constructor(wrap: HTMLElement) {
    this.element = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "mini-map", role: "img", preserveAspectRatio: "xMidYMid meet" });
    wrap.append(this.element);
  }

  /** Draws the target (the student) and, when known, the patrol ("you"), with a line between them. */
  show(target: Point, you: Point | null, label: string, youLabel: string): void {
    const points = you ? [target, you] : [target];
    const projection = franceProjection().fitExtent(
      [
        [PAD, PAD],
        [W - PAD, H - PAD],
      ],
      frame(points),
    );
    const path = geoPath(projection);
    const d = (o: GeoPermissibleObjects) => path(o) ?? "";
    const xy = (p: Point) => projection([p.longitude, p.latitude]) ?? [W / 2, H / 2];
    clear(this.element);
    this.element.setAttribute("aria-label", label);
    this.element.append(svg("title", {}, label), svg("rect", { class: "sea", width: W, height: H }));
    const land = svg("g", { class: "land" });
    for (const f of neighbourFeatures) land.append(svg("path", { class: "neighbour", d: d(f) }));
    for (const f of regionFeatures) land.append(svg("path", { class: "region", d: d(f) }));
    land.append(svg("path", { class: "border", d: d(innerBorders) }), svg("path", { class: "country", d: d(countryBorders) }));
    const [tx, ty] = xy(target);
    const markers: [number, number][] = you ? [[tx, ty], xy(you) as [number, number]] : [[tx, ty]];
    this.element.append(land, this.cities(projection, markers), scaleBar(projection, target));
    if (you) {
      const [yx, yy] = xy(you);
      this.element.append(
        svg("line", { class: "route", x1: yx.toFixed(1), y1: yy.toFixed(1), x2: tx.toFixed(1), y2: ty.toFixed(1) }),
        svg("circle", { class: "you", cx: yx.toFixed(1), cy: yy.toFixed(1), r: 7 }),
        svg("text", { class: "you-label", x: yx.toFixed(1), y: (yy + 22).toFixed(1), "text-anchor": "middle" }, youLabel),
      );
    }
    this.element.append(svg("circle", { class: "target", cx: tx.toFixed(1), cy: ty.toFixed(1), r: 8 }));
  }

  /** The largest catalogue cities inside the frame, as dots and names. */
  private cities(projection: (p: [number, number]) => [number, number] | null, markers: [number, number][]): SVGGElement {
    const g = svg("g", { class: "cities", "aria-hidden": "true" });
    const near = (p: [number, number]) => markers.some(([x, y]) => Math.hypot(p[0] - x, p[1] - y) <= CLEAR_PX);
    const inside = CITIES.map((c) => ({ c, p: projection([c.longitude, c.latitude]) }))
      .filter((x): x is { c: (typeof CITIES)[number]; p: [number, number] } => !!x.p && x.p[0] > 4 && x.p[0] < W - 4 && x.p[1] > 24 && x.p[1] < H - 4)
      .sort((a, b) => b.c.population - a.c.population)
      .slice(0, CITY_LABELS);
    const placed: Box[] = [];
    for (const { c, p } of inside) {
      // Names near the right edge end at their dot instead of running off the map.
      const right = p[0] > W - 90;
      const y = p[1] - (near(p) ? 14 : 4);
      const width = c.name.length * 6.6;
      const box: Box = { x: right ? p[0] - 5 - width : p[0] + 5, y: y - 11, w: width, h: 13 };
      // A smaller town whose name would run over a bigger one's keeps its dot only.
      const fits = !placed.some((b) => box.x < b.x + b.w && b.x < box.x + box.w && box.y < b.y + b.h && b.y < box.y + box.h);
      g.append(svg("circle", { cx: p[0].toFixed(1), cy: p[1].toFixed(1), r: 2.5 }));
      if (!fits) continue;
      placed.push(box);
      g.append(svg("text", { x: (p[0] + (right ? -5 : 5)).toFixed(1), y: y.toFixed(1), "text-anchor": right ? "end" : "start" }, c.name));
    }
    return g;
  }
}

/** A bar of a round length (1, 2, 5, 10… km) in the bottom-left corner, measured at the target. */
function scaleBar(projection: (p: [number, number]) => [number, number] | null, at: Point): SVGGElement {
  const a = projection([at.longitude, at.latitude]);
  // 0.1° of latitude is 11.1 km wherever one is.
  const b = projection([at.longitude, at.latitude + 0.1]);
  const g = svg("g", { class: "scale", "aria-hidden": "true" });
  if (!a || !b) return g;
  const pxPerKm = Math.hypot(a[0] - b[0], a[1] - b[1]) / 11.12;
  const km = [0.5, 1, 2, 5, 10, 20, 50, 100, 200].find((k) => k * pxPerKm >= 50) ?? 500;
  const len = km * pxPerKm;
  const y = H - 10;
  g.append(svg("path", { d: `M10 ${y - 5}V${y}H${(10 + len).toFixed(1)}V${y - 5}` }), svg("text", { x: (14 + len).toFixed(1), y: y }, `${km} km`));
  return g;
}

/** A box around the points, at least MIN_SPAN wide, for the projection to fit. */
function frame(points: Point[]): GeoPermissibleObjects {
  const lats = points.map((p) => p.latitude);
  const lons = points.map((p) => p.longitude);
  const grow = (lo: number, hi: number) => {
    const pad = Math.max((hi - lo) * 0.15, (MIN_SPAN - (hi - lo)) / 2, 0);
    return [lo - pad, hi + pad] as const;
  };
  const [s, n] = grow(Math.min(...lats), Math.max(...lats));
  const [w, e] = grow(Math.min(...lons), Math.max(...lons));
  return {
    type: "MultiPoint",
    coordinates: [
      [w, s],
      [e, n],
      [w, n],
      [e, s],
    ],
  };
}
