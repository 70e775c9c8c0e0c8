import { describe, expect, test } from "bun:test";
import { due, parsePlace, type Fix } from "./position.ts";

describe("a typed position", () => {
  test("coordinates, with a dot or a comma for decimals", () => {
    expect(parsePlace("45.76, 4.83")).toEqual({ latitude: 45.76, longitude: 4.83 });
    expect(parsePlace(" 45,76 4,83 ")).toEqual({ latitude: 45.76, longitude: 4.83 });
    expect(parsePlace("43.3;-1.5")).toEqual({ latitude: 43.3, longitude: -1.5 });
    expect(parsePlace("95, 4")).toBeNull();
  });
  test("a catalogue city, whatever the accents and case", () => {
    expect(parsePlace("Lyon")).toEqual({ latitude: 45.764, longitude: 4.8357 });
    expect(parsePlace("saint etienne")).toEqual(parsePlace("Saint-Étienne"));
    expect(parsePlace("Saint-Étienne")).not.toBeNull();
    expect(parsePlace("Atlantis")).toBeNull();
    expect(parsePlace("")).toBeNull();
  });
});

describe("when a position is sent", () => {
  const at = (latitude: number, longitude: number, source: Fix["source"] = "gps"): Fix => ({ latitude, longitude, accuracy: 10, at: 0, source });
  const sent = { latitude: 45.764, longitude: 4.8357, at: 100_000 };
  test("the first one at once; then after a 50 m move, or 10 s later for the GPS", () => {
    expect(due(at(45.764, 4.8357), null, 0)).toBe(true);
    // 0.0003° of latitude ≈ 33 m: not yet; 0.0005° ≈ 56 m: yes.
    expect(due(at(45.7643, 4.8357), sent, 101_000)).toBe(false);
    expect(due(at(45.7645, 4.8357), sent, 101_000)).toBe(true);
    expect(due(at(45.764, 4.8357), sent, 109_000)).toBe(false);
    expect(due(at(45.764, 4.8357), sent, 110_000)).toBe(true);
    // A typed place is not repeated.
    expect(due(at(45.764, 4.8357, "manual"), sent, 200_000)).toBe(false);
  });
});
