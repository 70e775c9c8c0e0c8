/**
 * Point → region by the region outlines the dashboard draws (web/geo/france.topo.json, Natural Earth):
 * a report's region is the polygon that contains it. Decoded once at start into a grid over the map's
 * bounding box: a cell far from every outline answers from one array read; a cell an outline crosses
 * keeps which polygons contain its centre and the few edges near it, and a lookup flips that answer
 * once per edge crossed on the way from the centre to the point (no whole-polygon scan).
 *
 * The outlines are simplified (the coast moves by up to about 2 km: Ajaccio, Toulon, Menton… lie just
 * outside their region's outline), so a point at sea within COAST_KM of a coast takes the region (or
 * country) whose coast is nearest. Beyond that, or outside the map, it is `abroad`.
 */
import type { Position } from "geojson";
import { feature } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";
import franceTopo from "../../web/geo/france.topo.json";

import { ABROAD_REGION as ABROAD, UNKNOWN_REGION } from "./regions.ts";

export interface Place {
  /** A region name as on the map, or ABROAD. */
  readonly region: string;
  /** ISO 3166-1 alpha-3 code of the neighbouring country the point is in (or off the coast of), when the map has it. */
  readonly country: string | null;
}

/** Sea within this distance of a coast belongs to that coast: covers the outline's simplification. */
export const COAST_KM = 3;
const CELL_DEG = 0.1;
const KM_PER_DEG = 111.195;
const RAD = Math.PI / 180;
/** label[] values besides a polygon index. */
const SEA = -1,
  MIXED = -2;

type Named = GeometryCollection<{ name: string }>;
type Ring = readonly Position[];

interface Polygon {
  readonly name: string;
  readonly isRegion: boolean;
  readonly rings: Ring[];
}

interface Grid {
  readonly west: number;
  readonly south: number;
  readonly cols: number;
  readonly rows: number;
  /** Names only: the rings are not kept. */
  readonly polygons: readonly Pick<Polygon, "name" | "isRegion">[];
  /** Polygon index when the whole cell (and COAST_KM around it) is inside it, SEA, or MIXED. */
  readonly label: Int8Array;
  /** MIXED cells: bit p set when polygon p contains the cell's centre. */
  readonly centreMask: Uint32Array;
  /** MIXED cells: their edges are cellEdges[cellStart[c] .. cellStart[c + 1]). */
  readonly cellStart: Uint32Array;
  readonly cellEdges: Uint32Array;
  /** Edge e runs (x1, y1) → (x2, y2) in degrees (x = longitude) on polygon owner[e]. */
  readonly x1: Float64Array;
  readonly y1: Float64Array;
  readonly x2: Float64Array;
  readonly y2: Float64Array;
  readonly owner: Uint8Array;
}

function polygonsOf(topo: Topology<{ regions: Named; neighbours: Named }>): Polygon[] {
  const of = (object: Named, isRegion: boolean) =>
    (feature(topo, object).features as { properties: { name: string }; geometry: { coordinates: Position[][][] } }[]).map((f) => ({
      name: f.properties.name,
      isRegion,
      rings: f.geometry.coordinates.flat(),
    }));
  // Regions first: where a coarse neighbour outline overlaps a region, the region wins (lowest bit).
  const polygons = [...of(topo.objects.regions, true), ...of(topo.objects.neighbours, false)];
  if (polygons.length > 32) throw new Error(`the map has ${polygons.length} polygons; the region index holds at most 32`);
  return polygons;
}

/** Which polygons contain each cell centre of one row: one even–odd sweep along the row's centre line. */
function centreMasksOfRow(
  g: { west: number; cols: number },
  y: number,
  x1: Float64Array,
  y1: Float64Array,
  x2: Float64Array,
  y2: Float64Array,
  owner: Uint8Array,
) {
  const crossings: [number, number][] = [];
  for (let e = 0; e < x1.length; e++) {
    const ay = y1[e]!,
      by = y2[e]!;
    if (ay > y === by > y) continue;
    crossings.push([x1[e]! + ((x2[e]! - x1[e]!) * (y - ay)) / (by - ay), owner[e]!]);
  }
  crossings.sort((a, b) => a[0] - b[0]);
  const masks = new Uint32Array(g.cols);
  let mask = 0,
    k = 0;
  for (let col = 0; col < g.cols; col++) {
    const x = g.west + (col + 0.5) * CELL_DEG;
    while (k < crossings.length && crossings[k]![0] < x) mask ^= 1 << crossings[k++]![1];
    masks[col] = mask;
  }
  return masks;
}

function build(topo: Topology<{ regions: Named; neighbours: Named }>): Grid {
  const polygons = polygonsOf(topo);
  const [west, south, east, north] = topo.bbox as [number, number, number, number];
  const cols = Math.ceil((east - west) / CELL_DEG),
    rows = Math.ceil((north - south) / CELL_DEG);
  const edges: number[][] = [[], [], [], [], []];
  polygons.forEach((p, o) => {
    for (const ring of p.rings)
      for (let i = 1; i < ring.length; i++) {
        const [ax, ay] = ring[i - 1] as [number, number];
        const [bx, by] = ring[i] as [number, number];
        edges[0]!.push(ax);
        edges[1]!.push(ay);
        edges[2]!.push(bx);
        edges[3]!.push(by);
        edges[4]!.push(o);
      }
  });
  const [x1, y1, x2, y2] = edges.slice(0, 4).map((e) => Float64Array.from(e)) as [Float64Array, Float64Array, Float64Array, Float64Array];
  const owner = Uint8Array.from(edges[4]!);
  const perCell = edgesPerCell({ west, south, cols, rows }, x1, y1, x2, y2);
  const label = new Int8Array(cols * rows);
  const centreMask = new Uint32Array(cols * rows);
  const cellStart = new Uint32Array(cols * rows + 1);
  const flat: number[] = [];
  for (let row = 0; row < rows; row++) {
    const masks = centreMasksOfRow({ west, cols }, south + (row + 0.5) * CELL_DEG, x1, y1, x2, y2, owner);
    for (let col = 0; col < cols; col++) {
      const c = row * cols + col,
        mask = masks[col]!;
      const near = perCell.get(c);
      cellStart[c] = flat.length;
      if (near) {
        label[c] = MIXED;
        centreMask[c] = mask;
        for (const e of near) flat.push(e);
      } else label[c] = mask === 0 ? SEA : 31 - Math.clz32(mask & -mask);
    }
  }
  cellStart[cols * rows] = flat.length;
  const names = polygons.map(({ name, isRegion }) => ({ name, isRegion }));
  return { west, south, cols, rows, polygons: names, label, centreMask, cellStart, cellEdges: Uint32Array.from(flat), x1, y1, x2, y2, owner };
}

/** The edges within COAST_KM of each cell (by bounding boxes: a superset, never missing one). */
function edgesPerCell(g: { west: number; south: number; cols: number; rows: number }, x1: Float64Array, y1: Float64Array, x2: Float64Array, y2: Float64Array) {
  const perCell = new Map<number, number[]>();
  const dLat = COAST_KM / KM_PER_DEG;
  for (let e = 0; e < x1.length; e++) {
    const top = Math.max(y1[e]!, y2[e]!) + dLat;
    const dLon = dLat / Math.cos(Math.min(89, Math.abs(top)) * RAD);
    const c0 = Math.max(0, Math.floor((Math.min(x1[e]!, x2[e]!) - dLon - g.west) / CELL_DEG));
    const c1 = Math.min(g.cols - 1, Math.floor((Math.max(x1[e]!, x2[e]!) + dLon - g.west) / CELL_DEG));
    const r0 = Math.max(0, Math.floor((Math.min(y1[e]!, y2[e]!) - dLat - g.south) / CELL_DEG));
    const r1 = Math.min(g.rows - 1, Math.floor((top - g.south) / CELL_DEG));
    for (let r = r0; r <= r1; r++)
      for (let c = c0; c <= c1; c++) {
        const key = r * g.cols + c;
        const list = perCell.get(key);
        if (list) list.push(e);
        else perCell.set(key, [e]);
      }
  }
  return perCell;
}

interface Index {
  readonly grid: Grid;
  /** The answer for each polygon. */
  readonly places: readonly Place[];
}

let index: Index | null = null;
/** Built on first use (about 0.1 s), so a process that never places a report never pays for it. */
function theIndex(): Index {
  if (index) return index;
  const grid = build(franceTopo as unknown as Topology<{ regions: Named; neighbours: Named }>);
  const places = grid.polygons.map((p) => Object.freeze(p.isRegion ? { region: p.name, country: null } : { region: ABROAD, country: p.name }));
  index = { grid, places };
  return index;
}

/** Names of the regions the map has, in its order. */
export const mapRegions = (): string[] =>
  theIndex()
    .grid.polygons.filter((p) => p.isRegion)
    .map((p) => p.name);

/** Bytes held by the index's arrays (the decoded rings are dropped once it is built). */
export function indexBytes(): number {
  const g = theIndex().grid;
  return [g.label, g.centreMask, g.cellStart, g.cellEdges, g.x1, g.y1, g.x2, g.y2, g.owner].reduce((s, a) => s + a.byteLength, 0);
}

const NOWHERE: Place = Object.freeze({ region: ABROAD, country: null });

/** The region (or abroad, with the neighbouring country when known) of a point; null for a non-finite one. */
export function locate(latitude: number, longitude: number): Place | null {
  if (!Number.isFinite(latitude) || !Number.isFinite(longitude)) return null;
  const { grid: g, places } = theIndex();
  const col = Math.floor((longitude - g.west) / CELL_DEG),
    row = Math.floor((latitude - g.south) / CELL_DEG);
  if (col < 0 || row < 0 || col >= g.cols || row >= g.rows) return NOWHERE;
  const cell = row * g.cols + col;
  const label = g.label[cell]!;
  if (label >= 0) return places[label]!;
  if (label === SEA) return NOWHERE;
  const mask = maskAt(g, cell, g.west + (col + 0.5) * CELL_DEG, g.south + (row + 0.5) * CELL_DEG, longitude, latitude);
  if (mask !== 0) return places[31 - Math.clz32(mask & -mask)]!;
  const coast = nearestCoast(g, cell, longitude, latitude);
  return coast < 0 ? NOWHERE : places[coast]!;
}

/** The centre's polygons, each flipped once per of its edges crossed by the segment centre → point. */
function maskAt(g: Grid, cell: number, px: number, py: number, qx: number, qy: number): number {
  let mask = g.centreMask[cell]!;
  const dx = qx - px,
    dy = qy - py;
  for (let i = g.cellStart[cell]!, end = g.cellStart[cell + 1]!; i < end; i++) {
    const e = g.cellEdges[i]!;
    const ax = g.x1[e]!,
      ay = g.y1[e]!,
      bx = g.x2[e]!,
      by = g.y2[e]!;
    // Half-open on both lines (a zero side counts as negative), so a shared vertex is crossed once.
    if (dx * (ay - py) - dy * (ax - px) > 0 === dx * (by - py) - dy * (bx - px) > 0) continue;
    const ex = bx - ax,
      ey = by - ay;
    if (ex * (py - ay) - ey * (px - ax) > 0 === ex * (qy - ay) - ey * (qx - ax) > 0) continue;
    mask ^= 1 << g.owner[e]!;
  }
  return mask;
}

/** At sea: the polygon whose coast is nearest if within COAST_KM, else -1. */
function nearestCoast(g: Grid, cell: number, x: number, y: number): number {
  const k = Math.cos(y * RAD);
  let best = -1,
    bestKm = COAST_KM;
  for (let i = g.cellStart[cell]!, end = g.cellStart[cell + 1]!; i < end; i++) {
    const e = g.cellEdges[i]!;
    const ax = (g.x1[e]! - x) * k,
      ay = g.y1[e]! - y,
      bx = (g.x2[e]! - x) * k,
      by = g.y2[e]! - y;
    const ex = bx - ax,
      ey = by - ay;
    const u = Math.max(0, Math.min(1, -(ax * ex + ay * ey) / (ex * ex + ey * ey || 1)));
    const km = Math.hypot(ax + u * ex, ay + u * ey) * KM_PER_DEG;
    if (km <= bestKm) {
      bestKm = km;
      best = g.owner[e]!;
    }
  }
  return best;
}

/** A report's region: the map's polygon containing it, else ABROAD; `unknown` only for a non-finite point. */
export const regionOf = (latitude: number, longitude: number): string => locate(latitude, longitude)?.region ?? UNKNOWN_REGION;
