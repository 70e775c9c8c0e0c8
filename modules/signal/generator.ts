import { regionOf } from "../../src/domain/region-index.ts";
import { type City, CITIES, type RegionName } from "../../src/domain/regions.ts";
import { EXERCISES } from "./exercises.ts";
import type { ReportInput } from "../../src/domain/report.ts";

/** One report in the wire shape a laptop POSTs to /api/reports (timestamp in epoch ms, no reportId). */
export type GeneratedReport = Omit<ReportInput, "reportId">;

export interface ReportGeneratorOptions {
  seed: number;
  students?: number;
}

export interface ReportGenerator {
  /** Next report, stamped at `now` (epoch ms) or just after it. */
  next(now: number): GeneratedReport;
}

/** Small, fast, seedable PRNG (mulberry32): same seed, same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fixed, small per-region shift of the expected score, in points, so regional analyses have something to find. */
export const REGION_SCORE_BIAS: Readonly<Record<RegionName, number>> = {
  "Auvergne-Rhône-Alpes": 1,
  "Bourgogne-Franche-Comté": -2,
  Bretagne: 3,
  "Centre-Val de Loire": -1,
  Corse: -4,
  "Grand Est": 0,
  "Hauts-de-France": -3,
  "Île-de-France": 2,
  Normandie: -1,
  "Nouvelle-Aquitaine": 1,
  Occitanie: 2,
  "Pays de la Loire": 3,
  "Provence-Alpes-Côte d'Azur": -2,
};

const JITTER_KM = 10;
const KM_PER_DEG_LAT = 111.195;
// Tuned so that about 20 % of reports fall below 50.
const SKILL_MEAN = 0.6,
  SKILL_SD = 0.15,
  NOISE_SD = 12;

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * A position uniform over the disc of JITTER_KM around the city, drawn again (up to 8 times, then the
 * city itself) while it falls outside the city's region on the map: at sea or across a border.
 */
function placeNear(city: City, rand: () => number): [number, number] {
  for (let attempt = 0; attempt < 8; attempt++) {
    const r = JITTER_KM * Math.sqrt(rand()),
      theta = 2 * Math.PI * rand();
    const dLat = (r * Math.cos(theta)) / KM_PER_DEG_LAT;
    const dLon = (r * Math.sin(theta)) / (KM_PER_DEG_LAT * Math.cos((city.latitude * Math.PI) / 180));
    const lat = round(city.latitude + dLat, 5),
      lon = round(city.longitude + dLon, 5);
    if (regionOf(lat, lon) === city.region) return [lat, lon];
  }
  return [city.latitude, city.longitude];
}

export function createReportGenerator({ seed, students = 5000 }: ReportGeneratorOptions): ReportGenerator {
  if (!Number.isInteger(students) || students < 1) throw new Error("students must be a positive integer");
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

  // Students are fixed at creation: a city drawn by population, a stable jittered position, a skill.
  const cumulative: number[] = [];
  let total = 0;
  for (const c of CITIES) cumulative.push((total += c.population));
  const pickCity = () => {
    const x = rand() * total;
    let lo = 0,
      hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return CITIES[lo]!;
  };

  const width = String(students - 1).length;
  const ids: string[] = [];
  const lat = new Float64Array(students),
    lon = new Float64Array(students),
    base = new Float64Array(students);
  for (let s = 0; s < students; s++) {
    const city = pickCity();
    const [la, lo] = placeNear(city, rand);
    // The seed names the population: two generators with different seeds are different students.
    ids.push(`student-${seed.toString(36)}-${String(s).padStart(width, "0")}`);
    lat[s] = la;
    lon[s] = lo;
    const skill = clamp(SKILL_MEAN + SKILL_SD * gauss(), 0.05, 1);
    base[s] = 39 + 75 * skill + REGION_SCORE_BIAS[city.region];
  }
  // The report id is derived from (student, exercise, timestamp): keeping each student's timestamps
  // strictly increasing keeps every generated report distinct even when many share the same `now`.
  const lastTimestamp = new Float64Array(students).fill(-1);

  return {
    next(now: number): GeneratedReport {
      const s = Math.floor(rand() * students);
      const exercise = EXERCISES[Math.floor(rand() * EXERCISES.length)]!;
      const score = clamp(base[s]! - 45 * exercise.difficulty + NOISE_SD * gauss(), 0, 100);
      const timestamp = Math.max(Math.floor(now), lastTimestamp[s]! + 1);
      lastTimestamp[s] = timestamp;
      return { studentId: ids[s]!, exerciseId: exercise.id, score: round(score, 2), latitude: lat[s]!, longitude: lon[s]!, timestamp };
    },
  };
}
