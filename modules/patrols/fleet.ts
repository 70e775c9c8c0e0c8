import { PATROL_ID_PATTERN } from "../../src/domain/incident-event.ts";
import { CITIES, REGIONS, type City, type RegionName } from "../../src/domain/regions.ts";

/** Where a simulated patrol starts its day. */
export interface PatrolPlacement {
  patrolId: string;
  name: string;
  latitude: number;
  longitude: number;
  city: string;
  region: RegionName;
}

const JITTER_KM = 3;
const KM_PER_DEG_LAT = 111.195;

/** Each region's cities, the largest first. */
const BY_REGION: ReadonlyMap<RegionName, readonly City[]> = new Map(
  REGIONS.map((r) => [r, CITIES.filter((c) => c.region === r).sort((a, b) => b.population - a.population)]),
);
const POPULATION = new Map(REGIONS.map((r) => [r, BY_REGION.get(r)!.reduce((s, c) => s + c.population, 0)]));
/** After one patrol per region, the next ones go to the most populous regions first (where most students are). */
const BY_POPULATION = [...REGIONS].sort((a, b) => POPULATION.get(b)! - POPULATION.get(a)!);

/**
 * `count` patrols spread over the country: one in every region (its largest city) before a second in any,
 * later rounds by region population, each round in the region's next city; a few km of seeded jitter so
 * two patrols are never on the same spot. Ids are `prefix` + a zero-padded number.
 */
export function placePatrols(count: number, prefix: string, rand: () => number): PatrolPlacement[] {
  const width = Math.max(2, String(count).length);
  if (!PATROL_ID_PATTERN.test(`${prefix}${"0".repeat(width)}`))
    throw new Error(`the patrol id prefix "${prefix}" must make ids of 1 to 32 characters among a-z, 0-9 and '-'`);
  const used = new Map<string, number>();
  const out: PatrolPlacement[] = [];
  for (let i = 0; i < count; i++) {
    const round = Math.floor(i / REGIONS.length);
    const region = (round === 0 ? REGIONS : BY_POPULATION)[i % REGIONS.length]!;
    const cities = BY_REGION.get(region)!;
    const city = cities[round % cities.length]!;
    const n = (used.get(city.name) ?? 0) + 1;
    used.set(city.name, n);
    const r = JITTER_KM * Math.sqrt(rand());
    const θ = 2 * Math.PI * rand();
    out.push({
      patrolId: `${prefix}${String(i + 1).padStart(width, "0")}`,
      name: `Team ${city.name} ${n}`,
      latitude: round6(city.latitude + (r * Math.cos(θ)) / KM_PER_DEG_LAT),
      longitude: round6(city.longitude + (r * Math.sin(θ)) / (KM_PER_DEG_LAT * Math.cos((city.latitude * Math.PI) / 180))),
      city: city.name,
      region,
    });
  }
  return out;
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;
