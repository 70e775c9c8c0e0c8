/**
 * The patrol's position, shared with the dispatcher (which sends the nearest patrol): the browser's
 * geolocation when the patrol allows it — sent every ~10 s, and at once after a 50 m move — or a place
 * typed by hand (a catalogue city or "latitude, longitude"), sent once.
 */
import { CITIES, distanceKm } from "../../src/domain/regions.ts";

export interface Fix {
  latitude: number;
  longitude: number;
  /** Metres (GPS only). */
  accuracy: number | null;
  at: number;
  source: "gps" | "manual";
}

export type GpsState = "off" | "waiting" | "on" | "denied" | "unavailable" | "unsupported";

const HEARTBEAT_MS = 10_000;
const MOVE_M = 50;
const RETRY_MS = 5_000;
const TICK_MS = 1_000;

const fold = (s: string) =>
  s
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim();

/** A typed place: "45.76, 4.83" (or "45,76 4,83"), or a catalogue city's name, accents and case aside. */
export function parsePlace(text: string): { latitude: number; longitude: number } | null {
  const m = /^\s*(-?\d{1,2}(?:[.,]\d+)?)\s*[,; ]\s*(-?\d{1,3}(?:[.,]\d+)?)\s*$/.exec(text);
  if (m) {
    const latitude = Number(m[1]!.replace(",", "."));
    const longitude = Number(m[2]!.replace(",", "."));
    return Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180 ? { latitude, longitude } : null;
  }
  const want = fold(text);
  const city = want ? CITIES.find((c) => fold(c.name) === want) : undefined;
  return city ? { latitude: city.latitude, longitude: city.longitude } : null;
}

/** Whether a fix is due to be sent: none sent yet, moved 50 m, or a GPS fix 10 s after the last one. */
export function due(fix: Fix, sent: { latitude: number; longitude: number; at: number } | null, now: number): boolean {
  if (!sent) return true;
  if (distanceKm(fix.latitude, fix.longitude, sent.latitude, sent.longitude) * 1000 >= MOVE_M) return true;
  return fix.source === "gps" && now - sent.at >= HEARTBEAT_MS;
}

export class PositionSharer {
  fix: Fix | null = null;
  sent: { latitude: number; longitude: number; at: number } | null = null;
  gps: GpsState = "off";
  gpsError = "";
  sending = false;
  error: string | null = null;
  private failedAt = 0;
  private watch: number | null = null;

  constructor(
    private readonly send: (latitude: number, longitude: number) => Promise<unknown>,
    private readonly onChange: () => void,
  ) {
    setInterval(() => void this.flush(), TICK_MS);
  }

  /** Starts the GPS at once when the patrol allowed it before; otherwise waits for the button. */
  async init(): Promise<void> {
    if (!("geolocation" in navigator)) {
      this.gps = "unsupported";
      return this.onChange();
    }
    try {
      const p = await navigator.permissions?.query({ name: "geolocation" });
      if (p?.state === "granted") this.startGps();
      else if (p?.state === "denied") this.gps = "denied";
    } catch {
      // No Permissions API: the button asks.
    }
    this.onChange();
  }

  startGps(): void {
    if (!("geolocation" in navigator) || this.watch !== null) return;
    this.gps = "waiting";
    this.watch = navigator.geolocation.watchPosition(
      (p) => {
        this.gps = "on";
        this.fix = { latitude: p.coords.latitude, longitude: p.coords.longitude, accuracy: p.coords.accuracy, at: Date.now(), source: "gps" };
        void this.flush();
        this.onChange();
      },
      (e) => {
        this.gps = e.code === e.PERMISSION_DENIED ? "denied" : "unavailable";
        this.gpsError = e.message;
        if (this.gps === "denied") this.stopGps();
        this.onChange();
      },
      { enableHighAccuracy: true, maximumAge: 5_000, timeout: 30_000 },
    );
    this.onChange();
  }

  /** A place typed by hand: it replaces the GPS (which would move it back) and is sent at once. */
  manual(latitude: number, longitude: number): void {
    this.stopGps();
    this.gps = "off";
    this.fix = { latitude, longitude, accuracy: null, at: Date.now(), source: "manual" };
    // Sent even when it is where the last one was: the patrol asked for it.
    this.sent = null;
    this.failedAt = 0;
    void this.flush();
    this.onChange();
  }

  private stopGps(): void {
    if (this.watch !== null) navigator.geolocation.clearWatch(this.watch);
    this.watch = null;
  }

  private async flush(): Promise<void> {
    const fix = this.fix;
    const now = Date.now();
    if (!fix || this.sending || now - this.failedAt < RETRY_MS || !due(fix, this.sent, now)) return;
    this.sending = true;
    this.onChange();
    try {
      await this.send(fix.latitude, fix.longitude);
      this.sent = { latitude: fix.latitude, longitude: fix.longitude, at: Date.now() };
      this.error = null;
    } catch (e) {
      this.failedAt = Date.now();
      this.error = e instanceof Error ? e.message : String(e);
    } finally {
      this.sending = false;
      this.onChange();
    }
  }
}
