/** Sequential colour scales (ColorBrewer PuBu and OrRd, colour-blind safe): the darker, the worse. */

type RGB = [number, number, number];
const hex = (s: string): RGB => [parseInt(s.slice(1, 3), 16), parseInt(s.slice(3, 5), 16), parseInt(s.slice(5, 7), 16)];

export const REGION_STOPS = ["#f1eef6", "#d0d1e6", "#a6bddb", "#74a9cf", "#2b8cbe", "#045a8d"];
export const HOTSPOT_STOPS = ["#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#990000"];

/** Colour at t in [0, 1] along the stops. */
export function ramp(stops: string[], t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const a = hex(stops[i]!),
    b = hex(stops[i + 1]!);
  const f = x - i;
  const c = a.map((v, k) => Math.round(v + (b[k]! - v) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

export const gradient = (stops: string[]) => `linear-gradient(to right, ${stops.join(", ")})`;

/**
 * The trend chart's series, from the scales above so the page keeps one palette: failures in a hotspot red,
 * the success rate in the regions' darkest blue, the average score a lighter one (dashed as well, so the two
 * lines are told apart without colour), threshold and its changes in ink.
 */
export const TREND_COLORS = {
  failures: HOTSPOT_STOPS[3]!,
  rate: REGION_STOPS[5]!,
  score: REGION_STOPS[4]!,
  threshold: "#17202e",
} as const;
