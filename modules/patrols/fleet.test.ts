import { expect, test } from "bun:test";
import { PATROL_ID_PATTERN } from "../../src/domain/incident-event.ts";
import { CITIES, distanceKm, REGIONS } from "../../src/domain/regions.ts";
import { mulberry32 } from "../signal/index.ts";
import { placePatrols } from "./fleet.ts";

test("20 patrols: every region has one before any has two; ids and names unique; each near a catalogue city", () => {
  const fleet = placePatrols(20, "sim-", mulberry32(1));
  expect(fleet.length).toBe(20);
  expect(new Set(fleet.slice(0, REGIONS.length).map((p) => p.region))).toEqual(new Set(REGIONS));
  expect(new Set(fleet.map((p) => p.patrolId)).size).toBe(20);
  expect(new Set(fleet.map((p) => p.name)).size).toBe(20);
  expect(fleet[0]!.patrolId).toBe("sim-01");
  for (const p of fleet) {
    expect(PATROL_ID_PATTERN.test(p.patrolId)).toBe(true);
    const city = CITIES.find((c) => c.name === p.city && c.region === p.region)!;
    expect(distanceKm(p.latitude, p.longitude, city.latitude, city.longitude)).toBeLessThanOrEqual(3.01);
  }
  // Île-de-France, the most populous, gets the first second patrol.
  expect(fleet[13]!.region).toBe("Île-de-France");
});

test("the same seed, the same fleet; ids padded to the count; a prefix that cannot make ids is refused", () => {
  expect(placePatrols(30, "p-", mulberry32(9))).toEqual(placePatrols(30, "p-", mulberry32(9)));
  expect(placePatrols(30, "p-", mulberry32(9))).not.toEqual(placePatrols(30, "p-", mulberry32(10)));
  expect(placePatrols(150, "t", mulberry32(1))[0]!.patrolId).toBe("t001");
  expect(() => placePatrols(3, "Sim ", mulberry32(1))).toThrow(/prefix "Sim "/);
  expect(() => placePatrols(3, "x".repeat(31), mulberry32(1))).toThrow(/prefix/);
});
