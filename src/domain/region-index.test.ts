import { describe, expect, test } from "bun:test";
import { geoContains } from "d3-geo";
import type { Feature, MultiPolygon } from "geojson";
import { feature } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";
import franceTopo from "../../web/geo/france.topo.json";
import { COAST_KM, indexBytes, locate, mapRegions, regionOf } from "./region-index.ts";
import { ABROAD_REGION, CITIES, nearestCity, REGIONS, UNKNOWN_REGION } from "./regions.ts";

type Named = GeometryCollection<{ name: string }>;
const topo = franceTopo as unknown as Topology<{ regions: Named; neighbours: Named }>;
const features = (o: Named) => feature(topo, o).features as Feature<MultiPolygon, { name: string }>[];
const regions = features(topo.objects.regions);
const neighbours = features(topo.objects.neighbours);
/** The reference: d3-geo's own point-in-polygon (on the sphere), the library the dashboard draws with. */
const d3Region = (lat: number, lon: number) => regions.find((f) => geoContains(f, [lon, lat]))?.properties.name ?? null;
const KM_PER_DEG = 111.195;

/** Arcs shared by two regions: the borders the map draws between them. */
function sharedBorders(): { a: string; b: string; points: [number, number][] }[] {
  const users = new Map<number, string[]>();
  const walk = (arcs: unknown, name: string): void => {
    if (typeof arcs === "number") {
      const i = arcs < 0 ? ~arcs : arcs;
      users.set(i, [...(users.get(i) ?? []), name]);
    } else for (const x of arcs as unknown[]) walk(x, name);
  };
  for (const g of topo.objects.regions.geometries) walk((g as unknown as { arcs: unknown }).arcs, (g.properties as { name: string }).name);
  const [sx, sy] = topo.transform!.scale;
  const [tx, ty] = topo.transform!.translate;
  const out: { a: string; b: string; points: [number, number][] }[] = [];
  for (const [i, names] of users) {
    if (names.length !== 2 || names[0] === names[1]) continue;
    let x = 0,
      y = 0;
    const points = (topo.arcs[i] as [number, number][]).map(([dx, dy]) => {
      x += dx;
      y += dy;
      return [x * sx + tx, y * sy + ty] as [number, number];
    });
    out.push({ a: names[0]!, b: names[1]!, points });
  }
  return out;
}

/** Points `km` to the left and right of the middle of segment p → q (lon/lat). */
function besides(p: [number, number], q: [number, number], km: number): [[number, number], [number, number]] {
  const k = Math.cos((((p[1] + q[1]) / 2) * Math.PI) / 180);
  const mx = (p[0] + q[0]) / 2,
    my = (p[1] + q[1]) / 2;
  const ex = (q[0] - p[0]) * k,
    ey = q[1] - p[1];
  const len = Math.hypot(ex, ey);
  const nx = -ey / len,
    ny = ex / len; // unit normal, in local km-proportional axes
  const d = km / KM_PER_DEG;
  return [
    [mx + (nx * d) / k, my + ny * d],
    [mx - (nx * d) / k, my - ny * d],
  ];
}

describe("locate: the region polygon that contains the point", () => {
  test("the map's regions are the catalogue's", () => {
    expect([...mapRegions()].sort()).toEqual([...REGIONS].sort());
  });

  test("points 300 m on each side of every border between two regions get the region the polygon says", () => {
    const borders = sharedBorders();
    expect(borders.length).toBeGreaterThanOrEqual(20);
    let checked = 0,
      oldRuleWrong = 0;
    const pairs = new Set<string>();
    for (const { a, b, points } of borders) {
      // Every 3rd segment of each border, so each one is sampled along its length.
      for (let s = 1; s < points.length; s += 3) {
        const p = points[s - 1]!,
          q = points[s]!;
        const segKm = Math.hypot((q[0] - p[0]) * Math.cos((p[1] * Math.PI) / 180), q[1] - p[1]) * KM_PER_DEG;
        if (segKm < 1) continue; // a short segment's neighbours bend within 300 m of it
        const sides = besides(p, q, 0.3);
        const got = sides.map(([lon, lat]) => regionOf(lat, lon));
        const want = sides.map(([lon, lat]) => d3Region(lat, lon));
        expect(got).toEqual(want as string[]);
        expect(new Set(got)).toEqual(new Set([a, b]));
        pairs.add([a, b].sort().join(" | "));
        for (const [lon, lat] of sides) if ((nearestCity(lat, lon)?.region ?? UNKNOWN_REGION) !== d3Region(lat, lon)) oldRuleWrong++;
        checked += 2;
      }
    }
    console.log(`borders: ${checked} points beside ${pairs.size} region pairs; the nearest-city rule put ${oldRuleWrong} of them in another region`);
    expect(pairs.size).toBeGreaterThanOrEqual(20);
    expect(checked).toBeGreaterThan(300);
  }, 30_000);

  test("named places near borders", () => {
    // Each a few km from a border; the nearest catalogue city is across it.
    expect(regionOf(47.3, 3.95)).toBe(d3Region(47.3, 3.95)!);
    for (const [lat, lon] of [
      [46.2, 6.14], // Geneva
      [41.39, 2.17], // Barcelona
      [50.85, 4.35], // Brussels
      [45.07, 7.69], // Turin
      [49.61, 6.13], // Luxembourg
    ] as const) {
      const place = locate(lat, lon)!;
      expect(place.region).toBe(ABROAD_REGION);
      expect(place.country).not.toBeNull();
    }
    expect(locate(46.2, 6.14)).toEqual({ region: ABROAD_REGION, country: "CHE" });
    expect(locate(41.39, 2.17)).toEqual({ region: ABROAD_REGION, country: "ESP" });
  });

  test("abroad: inside a neighbouring country, at sea, or off the map; unknown only for a non-finite point", () => {
    expect(locate(45, -30)).toEqual({ region: ABROAD_REGION, country: null }); // mid-Atlantic
    expect(locate(45.5, -3)).toEqual({ region: ABROAD_REGION, country: null }); // Bay of Biscay, 150 km out
    expect(locate(40.7128, -74.006)).toEqual({ region: ABROAD_REGION, country: null }); // New York, off the map
    expect(locate(Number.NaN, 2)).toBeNull();
    expect(regionOf(Number.NaN, 2)).toBe(UNKNOWN_REGION);
    expect(regionOf(2, Number.POSITIVE_INFINITY)).toBe(UNKNOWN_REGION);
  });

  test("agrees with d3-geo on 6,000 random points over France, its neighbours and its seas", () => {
    let seed = 5;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let inRegion = 0,
      inCountry = 0;
    for (let n = 0; n < 6_000; n++) {
      const lat = 40.5 + rand() * 11.5,
        lon = -6 + rand() * 16.5;
      const want = d3Region(lat, lon);
      if (want !== null) {
        expect(regionOf(lat, lon)).toBe(want);
        inRegion++;
        continue;
      }
      const countries = neighbours.filter((f) => geoContains(f, [lon, lat]));
      if (countries.length !== 1) continue; // at sea (the coast rule below), or where two coarse outlines overlap
      expect(locate(lat, lon)).toEqual({ region: ABROAD_REGION, country: countries[0]!.properties.name });
      inCountry++;
    }
    expect(inRegion).toBeGreaterThan(1500);
    expect(inCountry).toBeGreaterThan(500);
  }, 60_000);

  test(`at sea within ${COAST_KM} km of a coast: that coast's region (the outline is simplified); farther: abroad`, () => {
    // Ajaccio and Toulon lie outside their simplified outlines, ~1 km off the drawn coast.
    expect(d3Region(41.9192, 8.7386)).toBeNull();
    expect(regionOf(41.9192, 8.7386)).toBe("Corse");
    expect(d3Region(43.1242, 5.928)).toBeNull();
    expect(regionOf(43.1242, 5.928)).toBe("Provence-Alpes-Côte d'Azur");
    expect(regionOf(43.1242 - 10 / KM_PER_DEG, 5.928)).toBe(ABROAD_REGION); // 10 km out to sea
    expect(regionOf(41.9192 - 0.5, 8.7386)).toBe(ABROAD_REGION);
  });

  test("every catalogue city keeps its region", () => {
    const moved = CITIES.filter((c) => regionOf(c.latitude, c.longitude) !== c.region).map((c) => `${c.name}: ${regionOf(c.latitude, c.longitude)}`);
    expect(moved).toEqual([]);
    const offshore = CITIES.filter((c) => d3Region(c.latitude, c.longitude) === null).map((c) => c.name);
    console.log(`catalogue: ${CITIES.length} cities keep their region; outside the simplified outline, placed by the coast rule: ${offshore.join(", ")}`);
  });

  test("the index is small and fast", () => {
    const bytes = indexBytes();
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
    const t0 = performance.now();
    let known = 0;
    for (let n = 0; n < 1_000_000; n++) {
      const lat = 41 + (n % 1000) * 0.01,
        lon = -5 + Math.floor(n / 1000) * 0.015;
      if (regionOf(lat, lon) !== ABROAD_REGION) known++;
    }
    const ms = performance.now() - t0;
    console.log(`locate: ${(bytes / 1024).toFixed(0)} KiB; 1,000,000 lookups in ${ms.toFixed(0)} ms, ${known} in a region`);
    expect(known).toBeGreaterThan(0);
  });
});
