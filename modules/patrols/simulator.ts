import type { Log } from "../lifecycle.ts";
import { mulberry32 } from "../signal/index.ts";
import { DispatchUnreachableError, type DispatchClient } from "./client.ts";
import { placePatrols } from "./fleet.ts";
import { emptyPatrolStats, PatrolSim, type PatrolBehaviour, type PatrolStats } from "./patrol-sim.ts";

export interface PatrolSimulatorOptions {
  client: DispatchClient;
  /** Patrols to register and drive (1..1000). */
  count: number;
  speedKmh?: number;
  /** Seeds the placement and every crew's choices; the same seed, the same fleet. */
  seed?: number;
  ignoreRate?: number;
  /** About how long a crew takes to acknowledge (× 0.5..1.5). */
  ackAfterMs?: number;
  /** About how long a crew stays on site before resolving (× 0.5..1.5). */
  resolveAfterMs?: number;
  positionEveryMs?: number;
  reconnectMs?: number;
  /** Patrol ids are this and a number: `sim-01`, `sim-02`, … */
  prefix?: string;
  /** A progress line this often (0: none). */
  reportEveryMs?: number;
  /** How long registration may keep failing for want of an answer (the API starting up). */
  registerTimeoutMs?: number;
}

export const SIMULATOR_DEFAULTS = {
  speedKmh: 40,
  ignoreRate: 0.1,
  ackAfterMs: 3000,
  resolveAfterMs: 20_000,
  positionEveryMs: 1000,
  reconnectMs: 250,
  prefix: "sim-",
  reportEveryMs: 10_000,
  registerTimeoutMs: 30_000,
} as const;

export const MAX_SIMULATED_PATROLS = 1000;

export interface PatrolSimulator {
  readonly patrols: readonly PatrolSim[];
  /** Every patrol's counts added up. */
  totals(): PatrolStats;
  /** Drops this share (0..1) of the patrols' streams, as a flaky network would; they reopen from their cursor. */
  dropStreams(share: number): number;
  /** Stops every patrol (streams closed, steps under way finished); the totals. */
  stop(): Promise<PatrolStats>;
}

/** Refuses options that cannot make a simulation, naming the option. */
export function checkSimulatorOptions(o: PatrolSimulatorOptions): Required<Omit<PatrolSimulatorOptions, "client">> {
  const v = { ...SIMULATOR_DEFAULTS, seed: Date.now(), ...definedOnly(o), count: o.count };
  const fail = (what: string) => {
    throw new Error(what);
  };
  if (!Number.isInteger(v.count) || v.count < 1 || v.count > MAX_SIMULATED_PATROLS) fail(`count must be a whole number from 1 to ${MAX_SIMULATED_PATROLS}`);
  if (!(Number.isFinite(v.speedKmh) && v.speedKmh > 0)) fail("speedKmh must be a positive number");
  if (!Number.isFinite(v.seed)) fail("seed must be a number");
  if (!(v.ignoreRate >= 0 && v.ignoreRate < 1)) fail("ignoreRate must be at least 0 and less than 1");
  for (const k of ["ackAfterMs", "resolveAfterMs", "registerTimeoutMs", "reportEveryMs"] as const)
    if (!(Number.isFinite(v[k]) && v[k] >= 0)) fail(`${k} must be a non-negative number`);
  for (const k of ["positionEveryMs", "reconnectMs"] as const) if (!(Number.isFinite(v[k]) && v[k] >= 10)) fail(`${k} must be at least 10`);
  return v;
}

/**
 * Registers `count` patrols spread over the country (fleet.ts) and drives each one (patrol-sim.ts)
 * through the client: its stream, its steps, its positions. Returns once every patrol is registered and
 * its stream opened.
 */
export async function startPatrolSimulator(options: PatrolSimulatorOptions, log: Log): Promise<PatrolSimulator> {
  const o = checkSimulatorOptions(options);
  const fleetRand = mulberry32(o.seed);
  const behaviour: PatrolBehaviour = {
    speedKmh: o.speedKmh,
    ackAfterMs: o.ackAfterMs,
    resolveAfterMs: o.resolveAfterMs,
    ignoreRate: o.ignoreRate,
    positionEveryMs: o.positionEveryMs,
    reconnectMs: o.reconnectMs,
  };
  const patrols = placePatrols(o.count, o.prefix, fleetRand).map((p, i) => new PatrolSim(p, options.client, behaviour, mulberry32(o.seed * 7919 + i + 1), log));
  try {
    await Promise.all(patrols.map((p) => startWithRetries(p, o.registerTimeoutMs)));
  } catch (e) {
    await Promise.all(patrols.map((p) => p.stop()));
    throw e;
  }
  log.info(
    `patrols: ${patrols.length} on duty (${patrols[0]!.id}…${patrols[patrols.length - 1]!.id}) at ${o.speedKmh} km/h, ignoring ${Math.round(o.ignoreRate * 100)} % of assignments`,
    { count: patrols.length, seed: o.seed },
  );
  const totals = () => sumStats(patrols.map((p) => p.stats));
  const progress = o.reportEveryMs > 0 ? setInterval(() => log.info(`patrols: ${progressLine(patrols)}`, { ...totals() }), o.reportEveryMs) : null;
  const rand = mulberry32(o.seed + 1);
  return {
    patrols,
    totals,
    dropStreams(share) {
      const chosen = patrols.filter(() => rand() < share);
      for (const p of chosen) p.dropStream();
      return chosen.length;
    },
    async stop() {
      if (progress) clearInterval(progress);
      await Promise.all(patrols.map((p) => p.stop()));
      const t = totals();
      log.info(`patrols: stopped; ${progressLine(patrols)}`, { ...t });
      return t;
    },
  };
}

/** Runs the simulator until `signal` aborts; the totals. */
export async function runPatrolSimulator(
  options: PatrolSimulatorOptions & { signal: AbortSignal },
  log: Log,
): Promise<PatrolStats & { patrols: number; elapsedMs: number }> {
  const t0 = performance.now();
  const sim = await startPatrolSimulator(options, log);
  if (!options.signal.aborted) await new Promise((resolve) => options.signal.addEventListener("abort", resolve, { once: true }));
  const totals = await sim.stop();
  return { patrols: sim.patrols.length, ...totals, elapsedMs: Math.round(performance.now() - t0) };
}

/** The API may still be starting: registration is tried again while it cannot answer, not when it refuses. */
async function startWithRetries(p: PatrolSim, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 100; ; wait = Math.min(2000, wait * 2)) {
    try {
      return await p.start();
    } catch (e) {
      if (!(e instanceof DispatchUnreachableError) || Date.now() + wait > deadline)
        throw new Error(`cannot register patrol ${p.id}: ${(e as Error).message}`, { cause: e });
      await Bun.sleep(wait);
    }
  }
}

export function sumStats(all: PatrolStats[]): PatrolStats {
  const t = emptyPatrolStats();
  for (const s of all) for (const k of Object.keys(t) as Array<keyof PatrolStats>) t[k] += s[k];
  return t;
}

function progressLine(patrols: readonly PatrolSim[]): string {
  const busy = patrols.filter((p) => p.holding !== null).length;
  const t = sumStats(patrols.map((p) => p.stats));
  return `${busy}/${patrols.length} busy; ${t.assignments} assignments (${t.ignored} ignored, ${t.takenAway} taken away), ${t.acknowledged} acknowledged, ${t.arrived} arrived, ${t.resolved} resolved, ${t.positions} positions, ${t.reconnects} reconnects`;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
