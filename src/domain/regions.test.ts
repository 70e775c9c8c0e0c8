import { describe, expect, test } from "bun:test";
import { CITIES, distanceKm, nearestCity, PLACE_RADIUS_KM, placeOf, REGIONS, UNKNOWN_REGION } from "./regions.ts";

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
    expect(PLACE_RADIUS_KM).toBe(60);
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

describe("nearestCity", () => {
  test("far away points have none", () => {
    expect(nearestCity(45, -30)).toBeNull(); // mid-Atlantic
    expect(nearestCity(40.7128, -74.006)).toBeNull(); // New York
    expect(nearestCity(Number.NaN, 2)).toBeNull();
  });

  test("a point 30 km from any city has one", () => {
    for (const c of CITIES) {
      for (const bearing of [0, 90, 180, 270]) {
        const [lat, lon] = destination(c.latitude, c.longitude, 30, bearing);
        expect(nearestCity(lat, lon)).not.toBeNull();
      }
    }
  });

  test("a point 100 km from every city has none, and one with a wider radius", () => {
    const [lat, lon] = [45.5, -3.0]; // Bay of Biscay
    expect(nearestKm(lat, lon)).toBeGreaterThan(100);
    expect(nearestCity(lat, lon)).toBeNull();
    expect(nearestCity(lat, lon, 100)).toBeNull();
    expect(nearestCity(lat, lon, 1000)?.name).toBe("Les Sables-d'Olonne"); // ~150 km
  });

  test("the grid agrees with a brute-force nearest-city search", () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; n < 20_000; n++) {
      const lat = 40 + rand() * 12,
        lon = -6 + rand() * 17;
      const maxKm = [10, 30, 60, 120, 800][n % 5]!;
      const got = nearestCity(lat, lon, maxKm);
      const best = nearestKm(lat, lon);
      if (best > maxKm) expect(got).toBeNull();
      // Compare by distance so exact ties between two cities cannot make this flaky.
      else expect(distanceKm(lat, lon, got!.latitude, got!.longitude)).toBeCloseTo(best, 9);
    }
  });
});

describe("placeOf", () => {
  test("the nearest catalogue city's name within 60 km", () => {
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
      if (city) expect(distanceKm(lat, lon, city.latitude, city.longitude)).toBeCloseTo(nearestKm(lat, lon), 9);
    }
  });
});
