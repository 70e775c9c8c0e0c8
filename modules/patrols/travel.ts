import { distanceKm } from "../../src/domain/regions.ts";

export interface Point {
  latitude: number;
  longitude: number;
}

const RAD = Math.PI / 180;

/**
 * The point a `fraction` (0..1) of the way from `a` to `b` along the great circle (spherical linear
 * interpolation of the unit vectors): what a patrol driving straight at its target passes through.
 */
export function interpolate(a: Point, b: Point, fraction: number): Point {
  const f = Math.min(1, Math.max(0, fraction));
  const [φ1, λ1, φ2, λ2] = [a.latitude * RAD, a.longitude * RAD, b.latitude * RAD, b.longitude * RAD];
  const va = [Math.cos(φ1) * Math.cos(λ1), Math.cos(φ1) * Math.sin(λ1), Math.sin(φ1)] as const;
  const vb = [Math.cos(φ2) * Math.cos(λ2), Math.cos(φ2) * Math.sin(λ2), Math.sin(φ2)] as const;
  const dot = Math.min(1, Math.max(-1, va[0] * vb[0] + va[1] * vb[1] + va[2] * vb[2]));
  const δ = Math.acos(dot);
  // Too close to tell a great circle from a straight line (or the same point): plain linear interpolation.
  if (δ < 1e-9) return { latitude: a.latitude + (b.latitude - a.latitude) * f, longitude: a.longitude + (b.longitude - a.longitude) * f };
  const ka = Math.sin((1 - f) * δ) / Math.sin(δ);
  const kb = Math.sin(f * δ) / Math.sin(δ);
  const [x, y, z] = [ka * va[0] + kb * vb[0], ka * va[1] + kb * vb[1], ka * va[2] + kb * vb[2]];
  return { latitude: Math.atan2(z, Math.hypot(x, y)) / RAD, longitude: Math.atan2(y, x) / RAD };
}

/** Where a patrol at `from` heading for `to` is after driving `km`; `arrived` once it would reach or pass it. */
export function driveToward(from: Point, to: Point, km: number): { position: Point; arrived: boolean; remainingKm: number } {
  const total = distanceKm(from.latitude, from.longitude, to.latitude, to.longitude);
  if (km >= total) return { position: { latitude: to.latitude, longitude: to.longitude }, arrived: true, remainingKm: 0 };
  return { position: interpolate(from, to, km / total), arrived: false, remainingKm: total - km };
}
