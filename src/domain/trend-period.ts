/**
 * Trend periods: the warehouse counts reports per period of their own timestamp as well as in all (see
 * src/warehouse/migrations/003_trends.sql). A period divides an hour, so the API's hours and days are whole
 * numbers of periods and every engine puts a report in the same one.
 */

/** 15 minutes: "the last hour" is read to within a quarter of an hour, at four rows per hour and key. */
export const DEFAULT_TREND_PERIOD_SECONDS = 900;

/** Whole minutes that divide an hour: 60, 120, 180, 240, 300, 360, 600, 720, 900, 1200, 1800, 3600. */
export function isTrendPeriod(seconds: number): boolean {
  return Number.isInteger(seconds) && seconds >= 60 && seconds <= 3600 && seconds % 60 === 0 && 3600 % seconds === 0;
}

export const TREND_PERIOD_RULE = "must be whole minutes in seconds that divide an hour (60, 120, …, 900, 1200, 1800, 3600)";

/** Start of the period holding `timestampMs`, in epoch seconds (floor: a time before 1970 goes to the period before). */
export function periodStart(timestampMs: number, periodSeconds: number): number {
  return Math.floor(timestampMs / (periodSeconds * 1000)) * periodSeconds;
}
