import { expect, test } from "bun:test";
import { distanceKm } from "../../src/domain/regions.ts";
import { driveToward, interpolate } from "./travel.ts";

const paris = { latitude: 48.8566, longitude: 2.3522 };
const marseille = { latitude: 43.2965, longitude: 5.3698 };
const km = (a: { latitude: number; longitude: number }, b: { latitude: number; longitude: number }) =>
  distanceKm(a.latitude, a.longitude, b.latitude, b.longitude);

test("interpolate: the ends, and a point on the great circle splitting the distance in the given share", () => {
  expect(interpolate(paris, marseille, 0)).toEqual({ latitude: expect.closeTo(paris.latitude, 9), longitude: expect.closeTo(paris.longitude, 9) });
  expect(interpolate(paris, marseille, 1)).toEqual({ latitude: expect.closeTo(marseille.latitude, 9), longitude: expect.closeTo(marseille.longitude, 9) });
  const total = km(paris, marseille);
  for (const f of [0.1, 0.25, 0.5, 0.9]) {
    const p = interpolate(paris, marseille, f);
    expect(km(paris, p)).toBeCloseTo(total * f, 6);
    expect(km(p, marseille)).toBeCloseTo(total * (1 - f), 6);
  }
  // A great circle, not a straight line in degrees: Paris → Vancouver passes north of both.
  const mid = interpolate(paris, { latitude: 49.28, longitude: -123.12 }, 0.5);
  expect(mid.latitude).toBeGreaterThan(60);
  // Out-of-range shares are clamped; the same point is the same point.
  expect(interpolate(paris, marseille, 2)).toEqual(interpolate(paris, marseille, 1));
  expect(interpolate(paris, paris, 0.5)).toEqual(paris);
});

test("driveToward: moves the distance driven toward the target, arrives once it would reach it", () => {
  const total = km(paris, marseille);
  const leg = driveToward(paris, marseille, 100);
  expect(leg.arrived).toBe(false);
  expect(km(paris, leg.position)).toBeCloseTo(100, 6);
  expect(leg.remainingKm).toBeCloseTo(total - 100, 6);
  expect(driveToward(paris, marseille, total + 1)).toEqual({ position: marseille, arrived: true, remainingKm: 0 });
  expect(driveToward(paris, marseille, 0).position).toEqual({ latitude: expect.closeTo(paris.latitude, 9), longitude: expect.closeTo(paris.longitude, 9) });
});
