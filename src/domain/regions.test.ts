import { describe, expect, test } from "bun:test";
import { CITIES, DEFAULT_REGION_RADIUS_KM, distanceKm, nearestCity, placeOf, REGIONS, regionOf, UNKNOWN_REGION } from "./regions.ts";

/** Point reached by travelling km along a bearing (degrees) on the sphere. */
function destination(lat: number, lon: number, km: number, bearingDeg: number): [number, number] {
  const R = 6371.0088,
    rad = Math.PI / 180;
  const d = km / R,
    b = bearingDeg * rad,
    φ1 = lat * rad,
    λ1 = lon * rad;
  const φ2 = Math.asin(Math.sin(φ1) * Math.cos(d) + Math.cos(φ1) * Math.sin(d) * Math.cos(b));
  const λ2 = λ1 + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(φ1), Math.cos(d) - Math.sin(φ1) * Math.sin(φ2));
  return [φ2 / rad, λ2 / rad];
}

const nearestKm = (lat: number, lon: number) => Math.min(...CITIES.map((c) => distanceKm(lat, lon, c.latitude, c.longitude)));

describe("catalogue", () => {
  test("has the 13 metropolitan regions and at least 120 cities", () => {
    expect(REGIONS).toHaveLength(13);
    expect(new Set(REGIONS).size).toBe(13);
    expect(CITIES.length).toBeGreaterThanOrEqual(120);
    expect(DEFAULT_REGION_RADIUS_KM).toBe(60);
  });

  test("every region has at least 3 cities", () => {
    for (const region of REGIONS) expect(CITIES.filter((c) => c.region === region).length).toBeGreaterThanOrEqual(3);
  });

  test("cities are unique, inside metropolitan France and populated", () => {
    expect(new Set(CITIES.map((c) => c.name)).size).toBe(CITIES.length);
    for (const c of CITIES) {
      expect(c.latitude).toBeGreaterThan(41.3);
      expect(c.latitude).toBeLessThan(51.1);
      expect(c.longitude).toBeGreaterThan(-4.8);
      expect(c.longitude).toBeLessThan(9.6);
      expect(c.population).toBeGreaterThan(0);
    }
  });
});

describe("regionOf", () => {
  test("known cities", () => {
    expect(regionOf(48.8566, 2.3522)).toBe("Île-de-France"); // Paris
    expect(regionOf(45.764, 4.8357)).toBe("Auvergne-Rhône-Alpes"); // Lyon
    expect(regionOf(41.9192, 8.7386)).toBe("Corse"); // Ajaccio
    expect(regionOf(43.2965, 5.3698)).toBe("Provence-Alpes-Côte d'Azur"); // Marseille
    expect(regionOf(48.3904, -4.4861)).toBe("Bretagne"); // Brest
  });

  test("far away points are unknown", () => {
    expect(regionOf(45, -30)).toBe(UNKNOWN_REGION); // mid-Atlantic
    expect(regionOf(40.7128, -74.006)).toBe(UNKNOWN_REGION); // New York
    expect(regionOf(Number.NaN, 2)).toBe(UNKNOWN_REGION);
  });

  test("a point 30 km from any city resolves", () => {
    for (const c of CITIES) {
      for (const bearing of [0, 90, 180, 270]) {
        const [lat, lon] = destination(c.latitude, c.longitude, 30, bearing);
        expect(regionOf(lat, lon)).not.toBe(UNKNOWN_REGION);
      }
    }
    const [lat, lon] = destination(45.7772, 3.087, 30, 200); // south of Clermont-Ferrand
    expect(regionOf(lat, lon)).toBe("Auvergne-Rhône-Alpes");
  });

  test("a point 100 km from every city is unknown, and known with a wider radius", () => {
    const [lat, lon] = [45.5, -3.0]; // Bay of Biscay
    expect(nearestKm(lat, lon)).toBeGreaterThan(100);
    expect(regionOf(lat, lon)).toBe(UNKNOWN_REGION);
    expect(regionOf(lat, lon, 100)).toBe(UNKNOWN_REGION);
    expect(regionOf(lat, lon, 1000)).toBe("Pays de la Loire"); // Les Sables-d'Olonne, ~150 km
  });

  test("the grid agrees with a brute-force nearest-city search", () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; n < 20_000; n++) {
      const lat = 40 + rand() * 12,
        lon = -6 + rand() * 17;
      const maxKm = [10, 30, 60, 120, 800][n % 5]!;
      const got = regionOf(lat, lon, maxKm);
      const best = nearestKm(lat, lon);
      if (best > maxKm) expect(got).toBe(UNKNOWN_REGION);
      else {
        // Compare by distance so exact ties between two cities cannot make this flaky.
        const hit = CITIES.filter((c) => c.region === got).some((c) => Math.abs(distanceKm(lat, lon, c.latitude, c.longitude) - best) < 1e-9);
        expect(hit).toBe(true);
      }
    }
  });

  test("1,000,000 lookups run", () => {
    const t0 = performance.now();
    let known = 0;
    for (let n = 0; n < 1_000_000; n++) {
      // Sweep a box around France so both hits and misses are exercised.
      const lat = 41 + (n % 1000) * 0.01,
        lon = -5 + Math.floor(n / 1000) * 0.015;
      if (regionOf(lat, lon) !== UNKNOWN_REGION) known++;
    }
    const ms = performance.now() - t0;
    console.log(`regionOf: 1,000,000 lookups in ${ms.toFixed(0)} ms (${Math.round(1e6 / (ms / 1000)).toLocaleString("en")}/s), ${known} resolved`);
    expect(known).toBeGreaterThan(0);
  });
});

describe("placeOf", () => {
  test("the nearest catalogue city's name, by the same rule as the region", () => {
    expect(placeOf(45.764, 4.8357)).toBe("Lyon");
    expect(placeOf(48.8566, 2.3522)).toBe("Paris");
    expect(placeOf(40.7128, -74.006)).toBe(UNKNOWN_REGION);
    expect(placeOf(Number.NaN, 2)).toBe(UNKNOWN_REGION);
    let seed = 11;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; n < 2000; n++) {
      const lat = 41 + rand() * 10,
        lon = -5 + rand() * 14;
      const city = nearestCity(lat, lon);
      expect(placeOf(lat, lon)).toBe(city?.name ?? UNKNOWN_REGION);
      expect(regionOf(lat, lon)).toBe(city?.region ?? UNKNOWN_REGION);
      if (city) expect(distanceKm(lat, lon, city.latitude, city.longitude)).toBeCloseTo(nearestKm(lat, lon), 9);
    }
  });
});
