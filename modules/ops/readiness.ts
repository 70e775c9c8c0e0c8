import { metrics } from "../../src/metrics.ts";
import type { Log } from "../lifecycle.ts";

/** An engine this process uses, as readiness polls it. */
export interface EngineProbe {
  /** What it is to acu (as `acu config` names it): bus, thresholds, tokens, lake, warehouse. */
  engine: string;
  /** Which adapter: kafka, etcd, hdfs, postgres, embedded… */
  adapter: string;
  /** Resolves while the engine answers (the ports' ping()). */
  ping(): Promise<void>;
}

/** What GET /readyz answers: 200 with an empty list, or 503 naming what the process waits for. */
export interface ReadyState {
  ready: boolean;
  waitingFor: string[];
}

/** One polled engine: its last answer (null before the first) and whether a ping is still out. */
interface Watched {
  probe: EngineProbe;
  up: boolean | null;
  reason: string;
  inFlight: boolean;
}

export interface ReadinessOptions {
  /** Between two pings of an engine; default 1000 ms. */
  intervalMs?: number;
  /** A ping not answered within this counts as down (it may still answer later); default 2000 ms. */
  timeoutMs?: number;
}

/**
 * Whether this process can do its work now. Until the roles run it waits for "starting"; then it polls
 * every engine the process uses (one ping at a time per engine, each bounded by a timeout, so a hung
 * engine never piles pings up) and adds any other condition a role declares (the alert feed catching
 * up). Once draining (SIGTERM) it is never ready again: load balancers and orchestrators stop sending
 * input before the roles stop. Answers from memory, so /readyz costs nothing per request.
 */
export class Readiness {
  private engines: Watched[] = [];
  private readonly conditions: Array<{ name: string; met: () => boolean }> = [];
  private started = false;
  private draining: string | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly log: Log,
    o: ReadinessOptions = {},
  ) {
    this.intervalMs = o.intervalMs ?? 1000;
    this.timeoutMs = o.timeoutMs ?? 2000;
    metrics.ready.set(0);
  }

  /** Starts polling these engines: called once the roles run (until then, "starting"). */
  watch(probes: EngineProbe[]): void {
    if (this.started) throw new Error("readiness: watch() called twice");
    this.started = true;
    this.engines = probes.map((probe) => ({ probe, up: null, reason: "", inFlight: false }));
    this.poll();
    this.timer = setInterval(() => this.poll(), this.intervalMs);
    this.timer.unref?.();
  }

  /** A condition besides the engines, named in /readyz while it is not met. */
  require(name: string, met: () => boolean): void {
    this.conditions.push({ name, met });
  }

  /** Not ready from now on: the process stops taking input. */
  drain(why: string): void {
    this.draining ??= why;
    metrics.ready.set(0);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  state(): ReadyState {
    const waitingFor: string[] = [];
    if (this.draining) waitingFor.push(`nothing: draining (${this.draining}), the process is stopping`);
    if (!this.started) waitingFor.push("starting: the roles are not running yet");
    for (const e of this.engines) if (e.up !== true) waitingFor.push(`${name(e.probe)}: ${e.up === null ? "first check under way" : e.reason}`);
    for (const c of this.conditions) if (!c.met()) waitingFor.push(c.name);
    return { ready: waitingFor.length === 0, waitingFor };
  }

  private poll(): void {
    for (const e of this.engines) if (!e.inFlight) this.ping(e);
    this.publish();
  }

  private ping(e: Watched): void {
    e.inFlight = true;
    const late = setTimeout(() => this.mark(e, false, `no answer within ${this.timeoutMs} ms`), this.timeoutMs);
    Promise.resolve()
      .then(() => e.probe.ping())
      .then(
        () => this.mark(e, true, ""),
        (err: unknown) => this.mark(e, false, err instanceof Error ? err.message : String(err)),
      )
      .finally(() => {
        clearTimeout(late);
        e.inFlight = false;
      });
  }

  private mark(e: Watched, up: boolean, reason: string): void {
    if (up && e.up === false) this.log.info(`readiness: ${name(e.probe)} answers again`);
    if (!up && e.up !== false) this.log.warn(`readiness: ${name(e.probe)} does not answer: ${reason}`);
    e.up = up;
    e.reason = reason;
    metrics.engineUp.set({ engine: e.probe.engine, adapter: e.probe.adapter }, up ? 1 : 0);
    this.publish();
  }

  /** acu_ready as /readyz would answer now (conditions change without telling: each poll publishes too). */
  private publish(): void {
    metrics.ready.set(this.state().ready ? 1 : 0);
  }
}

function name(p: EngineProbe): string {
  return `${p.engine} (${p.adapter})`;
}
