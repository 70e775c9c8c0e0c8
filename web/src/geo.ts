/**
 * The geography both pages draw: the 13 regions and the neighbouring countries from web/geo/france.topo.json
 * (Natural Earth, lon/lat), the conformal conic projection IGN uses for France, and place names from the
 * catalogue of cities.
 */
import { geoConicConformal, type GeoConicProjection } from "d3-geo";
import type { Feature, FeatureCollection, MultiPolygon } from "geojson";
import { feature, mesh } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";
import { CITIES, distanceKm } from "../../src/domain/regions.ts";
import { fmtInt, t } from "./i18n.ts";
import franceTopo from "../geo/france.topo.json";

export type RegionFeature = Feature<MultiPolygon, { name: string }>;

const topo = franceTopo as unknown as Topology<{ regions: GeometryCollection<{ name: string }>; neighbours: GeometryCollection<{ name: string }> }>;
export const regionFeatures = (feature(topo, topo.objects.regions) as FeatureCollection<MultiPolygon, { name: string }>).features as RegionFeature[];
export const neighbourFeatures = (feature(topo, topo.objects.neighbours) as FeatureCollection<MultiPolygon, { name: string }>).features;
export const innerBorders = mesh(topo, topo.objects.regions, (a, b) => a !== b);
export const countryBorders = mesh(topo, topo.objects.neighbours, (a, b) => a !== b);

/** Lambert conformal conic over France (standard parallels 44° and 49°, centred on 3° E), not yet fitted. */
export function franceProjection(): GeoConicProjection {
  return geoConicConformal().parallels([44, 49]).rotate([-3, 0]);
}

/** One of the 8 compass points ("N", "NE"…, in the page's language) for a direction index 0–7. */
export const compassPoint = (dir: number) => t("compass").split(" ")[dir] ?? "";

/** Direction (0 = N … 7 = NW) from one point to another, on a local flat approximation. */
export function direction(fromLat: number, fromLon: number, toLat: number, toLon: number): number {
  const bearing = Math.atan2((toLon - fromLon) * Math.cos((fromLat * Math.PI) / 180), toLat - fromLat);
  return (Math.round((bearing / (2 * Math.PI)) * 8) + 8) % 8;
}

/** Nearest catalogue city, its distance and the direction from it, to name a place. */
export function nearestCity(lat: number, lon: number): { name: string; km: number; dir: number } {
  let best = { name: "", km: Infinity, dir: 0 };
  for (const c of CITIES) {
    const km = distanceKm(lat, lon, c.latitude, c.longitude);
    if (km < best.km) {
      best = { name: c.name, km, dir: direction(c.latitude, c.longitude, lat, lon) };
    }
  }
  return best;
}

/** "Lyon" when the place is at most 5 km away, else "Lyon · 12 km NE". */
export function placeName(lat: number, lon: number): string {
  const c = nearestCity(lat, lon);
  return c.km <= 5 ? c.name : `${c.name} · ${fmtInt(c.km)} km ${compassPoint(c.dir)}`;
}
